#!/usr/bin/env bash
# Throughput/latency bench: the same MCP tools/call load, in one run, against
#   direct            the minimal upstream (bench/MinimalUpstream)      http://127.0.0.1:UPSTREAM/mcp
#   yarp              a bare YARP pass-through in front of it (bench/YarpPassthrough)
#   gatehouse         Gatehouse in front of it, with a grant token      http://127.0.0.1:GATEHOUSE/mcp/bench
#   gatehouse-off     the same, no policy, serve --decision-log off     http://127.0.0.1:GATEHOUSE_OFF/mcp/bench
#   gatehouse-policy  the same, bench/policy-200.yaml attached to the server, decision log on
#                                                                       http://127.0.0.1:GATEHOUSE_POLICY/mcp/bench
# Each Gatehouse target is its own `gatehouse serve` process with its own fresh data dir.
# Prints req/s, p50 and p99 for each, plus the ratios gatehouse/yarp, yarp/direct, gatehouse/direct,
# gatehouse-policy/gatehouse-off (cost of policy + decision log) and gatehouse-off/yarp.
# Target: gatehouse/yarp req/s >= BENCH_MIN_RATIO (0.90). See bench/README.md.
#
# Settings (environment):
#   BENCH_SECONDS=10          measured seconds per target and round
#   BENCH_WARMUP=3            warm-up seconds per target and round, at full load (0 = none)
#   BENCH_PRIME=10            once per target before round 1: seconds of one-connection load, so the JIT can
#                             finish tiering up while a CPU is still free (0 = none; see README)
#   BENCH_CONNECTIONS=32      wrk -c
#   BENCH_THREADS=1           wrk -t
#   BENCH_ROUNDS=3            rounds; each round loads every target once (start rotates); medians are reported
#   BENCH_TARGETS="direct yarp gatehouse gatehouse-off gatehouse-policy"
#   BENCH_UPSTREAM_PORT=18081 BENCH_YARP_PORT=18082 BENCH_GATEHOUSE_PORT=18083   (127.0.0.1 only)
#   BENCH_GATEHOUSE_OFF_PORT=18084 BENCH_GATEHOUSE_POLICY_PORT=18085
#   BENCH_POLICY=bench/policy-200.yaml   the policy attached for gatehouse-policy
#   BENCH_MIN_RATIO=0.90      the gatehouse/yarp req/s target
#   BENCH_ENFORCE=0           1: exit 3 when the target is missed (or gatehouse did not run / had errors)
#   BENCH_REQUIRE_GATEHOUSE=0 1: fail when a Gatehouse target cannot be built, set up or started (else its row is n/a)
#   BENCH_SKIP_BUILD=0        1: use the Release binaries already built
#   BENCH_STARTUP_TIMEOUT=60  seconds to wait for each app's "listening on" line
#   BENCH_GATEHOUSE_DLL=...   run this gatehouse.dll instead of building src/Gatehouse.Host (same CLI contract)
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
ROUNDS=${BENCH_ROUNDS:-3}
PRIME=${BENCH_PRIME:-10}
TARGETS=${BENCH_TARGETS:-direct yarp gatehouse gatehouse-off gatehouse-policy}
UPSTREAM_PORT=${BENCH_UPSTREAM_PORT:-18081}
YARP_PORT=${BENCH_YARP_PORT:-18082}
GATEHOUSE_PORT=${BENCH_GATEHOUSE_PORT:-18083}
GATEHOUSE_OFF_PORT=${BENCH_GATEHOUSE_OFF_PORT:-18084}
GATEHOUSE_POLICY_PORT=${BENCH_GATEHOUSE_POLICY_PORT:-18085}
POLICY_FILE=${BENCH_POLICY:-"$BENCH_DIR/policy-200.yaml"}
MIN_RATIO=${BENCH_MIN_RATIO:-0.90}
ENFORCE=${BENCH_ENFORCE:-0}
REQUIRE_GATEHOUSE=${BENCH_REQUIRE_GATEHOUSE:-0}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}
STARTUP_TIMEOUT=${BENCH_STARTUP_TIMEOUT:-60}
SERVER_NAME=bench
RESULTS_DIR="$BENCH_DIR/results"
LUA="$BENCH_DIR/tools_call.lua"

UPSTREAM_DLL="$BENCH_DIR/MinimalUpstream/bin/Release/net10.0/MinimalUpstream.dll"
YARP_DLL="$BENCH_DIR/YarpPassthrough/bin/Release/net10.0/YarpPassthrough.dll"
GATEHOUSE_DLL=${BENCH_GATEHOUSE_DLL:-"$ROOT/src/Gatehouse.Host/bin/Release/net10.0/gatehouse.dll"}

REQUEST_BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}'

die() { echo "error: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

for v in DURATION CONNECTIONS THREADS ROUNDS UPSTREAM_PORT YARP_PORT GATEHOUSE_PORT GATEHOUSE_OFF_PORT GATEHOUSE_POLICY_PORT STARTUP_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got '$WARMUP')"
[[ $PRIME =~ ^[0-9]+$ ]] || die "BENCH_PRIME must be a non-negative integer (got '$PRIME')"
[[ $MIN_RATIO =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_MIN_RATIO must be a number (got '$MIN_RATIO')"
for t in $TARGETS; do
    case $t in direct|yarp|gatehouse|gatehouse-off|gatehouse-policy) ;; *) die "unknown target '$t' in BENCH_TARGETS" ;; esac
done
wants() { [[ " $TARGETS " == *" $1 "* ]]; }
GATEHOUSE_TARGETS=(gatehouse gatehouse-off gatehouse-policy)
is_gatehouse() { [[ $1 == gatehouse || $1 == gatehouse-* ]]; }
wants_any_gatehouse() { local t; for t in "${GATEHOUSE_TARGETS[@]}"; do wants "$t" && return 0; done; return 1; }

# The apps log only warnings and errors, so console logging does not compete for the CPUs.
export Logging__LogLevel__Default=Warning
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
unset ASPNETCORE_URLS ASPNETCORE_HTTP_PORTS ASPNETCORE_HTTPS_PORTS DOTNET_URLS

# ---------------------------------------------------------------------------------------------- cleanup
PIDS=()
WORK=$(mktemp -d -t gatehouse-bench.XXXXXX)       # logs, wrk output
DATA_DIRS=()                                      # one fresh Gatehouse --data dir per Gatehouse target

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid i
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK" "${DATA_DIRS[@]}"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------ tools
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "wrk is not installed and this is not root (install it: apt-get install wrk)"
        sudo=(sudo)
    fi
    note "installing wrk with apt-get"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >"$WORK/apt.log" 2>&1; then
        # Only refresh the package lists when the install could not find the package.
        "${sudo[@]}" apt-get update -q >>"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; die "apt-get update failed"; }
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >>"$WORK/apt.log" 2>&1 \
            || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install wrk failed"; }
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk still not found after apt-get install"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

build() {  # build NAME PROJECT_DIR  -> 0/1, output in $WORK/build-NAME.log
    note "building $1 (Release)"
    dotnet build -c Release "$2" -nologo -v q >"$WORK/build-$1.log" 2>&1
}

# start_app NAME READY_PATTERN COMMAND... : start in the background, wait for READY_PATTERN in its output.
start_app() {
    local name=$1 pattern=$2
    shift 2
    local log="$WORK/$name.log"
    : >"$log"
    "$@" >"$log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    until grep -qF -- "$pattern" "$log"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited during startup; last output:" >&2
            tail -n 30 "$log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "error: $name did not print '$pattern' within ${STARTUP_TIMEOUT}s; last output:" >&2
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    note "$name: $(grep -F -- "$pattern" "$log" | head -n 1)"
}

# smoke NAME URL [TOKEN]: one request with the bench's headers; must be HTTP 200 with the upstream's "ok" result
# and no JSON-RPC "error" (a policy denial, for example, answers 200 with an error).
smoke() {
    local name=$1 url=$2 token=${3:-}
    command -v curl >/dev/null 2>&1 || { note "curl not found; skipping the $name smoke check"; return 0; }
    local auth=()
    [[ -n $token ]] && auth=(-H "Authorization: Bearer $token")
    local out="$WORK/smoke-$name.txt" code
    code=$(curl -sS -o "$out" -w '%{http_code}' --max-time 10 -X POST \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \
        "${auth[@]}" --data-binary "$REQUEST_BODY" "$url") || code=000
    if [[ $code != 200 ]] || ! grep -q '"text" *: *"ok"' "$out" || grep -q '"error"' "$out"; then
        echo "error: $name smoke request to $url answered HTTP $code:" >&2
        head -c 600 "$out" >&2 || true
        echo >&2
        return 1
    fi
}

# run_wrk SECONDS URL TOKEN [CONNECTIONS THREADS] : wrk's full output on stdout.
run_wrk() {
    BENCH_BEARER_TOKEN=$3 wrk -t"${5:-$THREADS}" -c"${4:-$CONNECTIONS}" -d"$1s" --timeout 10s --latency -s "$LUA" "$2"
}

# parse_wrk FILE -> "rps p50_ms p99_ms non2xx socket_errors requests"
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /[0-9]m$/) return substr(v, 1, length(v) - 1) * 60000
            if (v ~ /[0-9]h$/) return substr(v, 1, length(v) - 1) * 3600000
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v + 0
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        / requests in / { total = $1 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { line = $0; gsub(/,/, "", line); split(line, f, " "); errs = f[4] + f[6] + f[8] + f[10] }
        END {
            if (rps == "" || p50 == "" || p99 == "") exit 1
            printf "%s %.3f %.3f %d %d %d\n", rps, p50, p99, non2xx, errs, total
        }' "$1"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
sum() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

# ------------------------------------------------------------------------------------------------ setup
ensure_wrk
WRK_VERSION=$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }') || true

declare -A PORT=([direct]=$UPSTREAM_PORT [yarp]=$YARP_PORT [gatehouse]=$GATEHOUSE_PORT
    [gatehouse-off]=$GATEHOUSE_OFF_PORT [gatehouse-policy]=$GATEHOUSE_POLICY_PORT)
declare -A SEEN_PORT=()
for t in direct $TARGETS; do
    p=${PORT[$t]}
    [[ -n ${SEEN_PORT[$p]:-} && ${SEEN_PORT[$p]} != "$t" ]] && die "targets ${SEEN_PORT[$p]} and $t both use port $p"
    SEEN_PORT[$p]=$t
    port_in_use "$p" && die "127.0.0.1:$p ($t) is already in use (set BENCH_UPSTREAM_PORT/BENCH_YARP_PORT/BENCH_GATEHOUSE_PORT/BENCH_GATEHOUSE_OFF_PORT/BENCH_GATEHOUSE_POLICY_PORT)"
done

declare -A GH_STATUS=()  # per Gatehouse target: empty = ok, else the reason it has no numbers
gatehouse_unavailable() {  # gatehouse_unavailable TARGET REASON
    GH_STATUS[$1]=$2
    if [[ $REQUIRE_GATEHOUSE == 1 ]]; then die "$1: $2"; fi
    echo "warning: $1: $2; its row will be n/a (BENCH_REQUIRE_GATEHOUSE=1 makes this fatal)" >&2
}
all_gatehouse_unavailable() {
    local t
    for t in "${GATEHOUSE_TARGETS[@]}"; do wants "$t" && gatehouse_unavailable "$t" "$1"; done
    return 0
}

if [[ $SKIP_BUILD != 1 ]]; then
    build MinimalUpstream "$BENCH_DIR/MinimalUpstream" || { cat "$WORK/build-MinimalUpstream.log" >&2; die "build failed"; }
    if wants yarp; then
        build YarpPassthrough "$BENCH_DIR/YarpPassthrough" || { cat "$WORK/build-YarpPassthrough.log" >&2; die "build failed"; }
    fi
    if wants_any_gatehouse && [[ -z ${BENCH_GATEHOUSE_DLL:-} ]]; then
        if ! build Gatehouse "$ROOT/src/Gatehouse.Host"; then
            grep -E 'error|Error' "$WORK/build-Gatehouse.log" | sort -u | head -n 15 >&2 || true
            all_gatehouse_unavailable "build of src/Gatehouse.Host failed"
        fi
    fi
fi
if wants_any_gatehouse && [[ -z ${GH_STATUS[*]} && ! -f $GATEHOUSE_DLL ]]; then
    all_gatehouse_unavailable "$GATEHOUSE_DLL not found"
fi
if wants gatehouse-policy && [[ -z ${GH_STATUS[gatehouse-policy]:-} && ! -f $POLICY_FILE ]]; then
    gatehouse_unavailable gatehouse-policy "policy file $POLICY_FILE not found"
fi

UPSTREAM_URL="http://127.0.0.1:$UPSTREAM_PORT/mcp"
YARP_URL="http://127.0.0.1:$YARP_PORT/mcp"
declare -A URL=([direct]=$UPSTREAM_URL [yarp]=$YARP_URL)
declare -A TOKEN=()
for t in "${GATEHOUSE_TARGETS[@]}"; do URL[$t]="http://127.0.0.1:${PORT[$t]}/mcp/$SERVER_NAME"; done

start_app upstream "listening on http://127.0.0.1:$UPSTREAM_PORT" dotnet "$UPSTREAM_DLL" "$UPSTREAM_PORT" || die "upstream did not start"
smoke direct "$UPSTREAM_URL" || die "the upstream does not answer tools/call"

if wants yarp; then
    start_app yarp "listening on http://127.0.0.1:$YARP_PORT" dotnet "$YARP_DLL" "$YARP_PORT" "http://127.0.0.1:$UPSTREAM_PORT" \
        || die "yarp did not start"
    smoke yarp "$YARP_URL" || die "the YARP pass-through does not answer tools/call"
fi

# setup_gatehouse TARGET DATA_DIR: one `gatehouse serve` on PORT[TARGET] with its own data dir.
#   gatehouse         no policy, decision log on (the default)
#   gatehouse-off     no policy, serve --decision-log off
#   gatehouse-policy  POLICY_FILE applied and attached to the server, decision log on
# Called in an `if`, so every step checks its own status; the reason for a failure goes to $WORK/gh-reason-TARGET.
setup_gatehouse() {
    local t=$1 data=$2 port=${PORT[$1]}
    local gh=(dotnet "$GATEHOUSE_DLL" --data "$data") serve_opts=() token=""
    local reason="$WORK/gh-reason-$t"
    "${gh[@]}" server add "$SERVER_NAME" --url "$UPSTREAM_URL" --transport streamable-http --json \
        >"$WORK/server-add-$t.json" 2>&1 || { cat "$WORK/server-add-$t.json" >&2; echo "server add failed" >"$reason"; return 1; }
    if [[ $t == gatehouse-policy ]]; then
        "${gh[@]}" policy apply -f "$POLICY_FILE" --name bench --server "$SERVER_NAME" \
            >"$WORK/policy-apply-$t.txt" 2>&1 || { cat "$WORK/policy-apply-$t.txt" >&2; echo "policy apply failed" >"$reason"; return 1; }
        note "$t: $(head -n 1 "$WORK/policy-apply-$t.txt")"
    fi
    [[ $t == gatehouse-off ]] && serve_opts=(--decision-log off)
    "${gh[@]}" grant create --server "$SERVER_NAME" --label bench --json \
        >"$WORK/grant-$t.json" 2>"$WORK/grant-$t.err" || { cat "$WORK/grant-$t.json" "$WORK/grant-$t.err" >&2; echo "grant create failed" >"$reason"; return 1; }
    if command -v jq >/dev/null 2>&1; then
        token=$(jq -r '.token // empty' "$WORK/grant-$t.json" 2>/dev/null) || token=""
    fi
    if [[ -z $token ]]; then
        token=$(tr -d '\n' <"$WORK/grant-$t.json" | sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
    fi
    [[ -n $token ]] || { cat "$WORK/grant-$t.json" >&2; echo "no token in grant create --json output" >"$reason"; return 1; }
    TOKEN[$t]=$token
    start_app "$t" "listening on http://127.0.0.1:$port" \
        "${gh[@]}" serve --urls "http://127.0.0.1:$port" "${serve_opts[@]}" || { echo "serve did not start" >"$reason"; return 1; }
    if ! smoke "$t" "${URL[$t]}" "$token"; then
        echo "$t log (last 40 lines):" >&2
        tail -n 40 "$WORK/$t.log" >&2
        echo "smoke tools/call through Gatehouse failed" >"$reason"
        return 1
    fi
}
for t in "${GATEHOUSE_TARGETS[@]}"; do
    wants "$t" && [[ -z ${GH_STATUS[$t]:-} ]] || continue
    data=$(mktemp -d -t "gatehouse-bench-$t.XXXXXX")
    DATA_DIRS+=("$data")
    note "setting up $t (data dir $data)"
    if ! setup_gatehouse "$t" "$data"; then
        gatehouse_unavailable "$t" "$(cat "$WORK/gh-reason-$t" 2>/dev/null || echo "setup failed")"
    fi
done

# -------------------------------------------------------------------------------------------------- load
declare -A R_RPS R_P50 R_P99 R_NON2XX R_ERRS R_REQS
RUN=()
for t in $TARGETS; do
    is_gatehouse "$t" && [[ -n ${GH_STATUS[$t]:-} ]] && continue
    RUN+=("$t")
done

# On two cores a fresh .NET process under full load starves its own background JIT: the first ~10 s run at
# a fraction of steady-state speed. One-connection load first lets tier-1/PGO code arrive while a CPU is free.
if ((PRIME > 0)); then
    for t in "${RUN[@]}"; do
        token=${TOKEN[$t]:-}
        note "priming $t: ${PRIME}s, 1 connection"
        run_wrk "$PRIME" "${URL[$t]}" "$token" 1 1 >"$WORK/prime-$t.txt" 2>&1 || true
    done
fi

mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/wrk-*-round*.txt
for ((round = 1; round <= ROUNDS; round++)); do
    n=${#RUN[@]}
    for ((k = 0; k < n; k++)); do
        t=${RUN[$(((k + round - 1) % n))]}
        token=${TOKEN[$t]:-}
        if ((WARMUP > 0)); then
            note "round $round/$ROUNDS  $t: warm-up ${WARMUP}s"
            run_wrk "$WARMUP" "${URL[$t]}" "$token" >"$WORK/warmup-$t.txt" 2>&1 || true
        fi
        note "round $round/$ROUNDS  $t: ${DURATION}s, ${THREADS} thread(s), ${CONNECTIONS} connections"
        out="$RESULTS_DIR/wrk-$t-round$round.txt"
        run_wrk "$DURATION" "${URL[$t]}" "$token" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed against $t"; }
        read -r rps p50 p99 non2xx errs reqs < <(parse_wrk "$out") || { cat "$out" >&2; die "could not parse wrk output for $t"; }
        note "  $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $non2xx  socket errors $errs"
        R_RPS[$t]+="$rps "; R_P50[$t]+="$p50 "; R_P99[$t]+="$p99 "
        R_NON2XX[$t]+="$non2xx "; R_ERRS[$t]+="$errs "; R_REQS[$t]+="$reqs "
    done
done

# ------------------------------------------------------------------------------------------------ report
declare -A RPS P50 P99 BAD
for t in "${RUN[@]}"; do
    RPS[$t]=$(median <<<"${R_RPS[$t]}")
    P50[$t]=$(median <<<"${R_P50[$t]}")
    P99[$t]=$(median <<<"${R_P99[$t]}")
    BAD[$t]=$(( $(sum <<<"${R_NON2XX[$t]}") + $(sum <<<"${R_ERRS[$t]}") ))
done

report() {
    printf 'Gatehouse bench: MCP tools/call (streamable HTTP, JSON response), all on 127.0.0.1\n'
    printf 'date %s, %s CPU(s), %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc 2>/dev/null || echo '?')" "${WRK_VERSION:-wrk}"
    printf 'load per target and round: wrk -t%s -c%s -d%ss --latency after a %ss warm-up; %s round(s)%s; primed %ss at -c1\n' \
        "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$( ((ROUNDS > 1)) && echo ', medians shown')" "$PRIME"
    printf '\n%-16s %11s %9s %9s %9s %9s  %s\n' target 'req/s' 'p50 ms' 'p99 ms' non-2xx sock-err url
    local t non2xx errs
    for t in direct yarp "${GATEHOUSE_TARGETS[@]}"; do
        wants "$t" || continue
        if [[ -n ${RPS[$t]:-} ]]; then
            non2xx=$(sum <<<"${R_NON2XX[$t]}")
            errs=$(sum <<<"${R_ERRS[$t]}")
            printf '%-16s %11.1f %9.3f %9.3f %9d %9d  %s\n' "$t" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "$non2xx" "$errs" "${URL[$t]}"
        else
            printf '%-16s %11s %9s %9s %9s %9s  %s\n' "$t" n/a n/a n/a - - "not run: ${GH_STATUS[$t]:-no result}"
        fi
    done

    printf '\n%-32s %7s %7s %7s\n' ratio 'req/s' p50 p99
    local pair a b
    for pair in gatehouse:yarp yarp:direct gatehouse:direct gatehouse-policy:gatehouse-off gatehouse-off:yarp; do
        a=${pair%%:*} b=${pair##*:}
        wants "$a" && wants "$b" || continue
        # The policy/decision-log rows appear only when both of their targets produced numbers.
        if [[ $a == gatehouse-* || $b == gatehouse-* ]] && [[ -z ${RPS[$a]:-} || -z ${RPS[$b]:-} ]]; then continue; fi
        printf '%-32s %7s %7s %7s\n' "$a / $b" \
            "$(ratio "${RPS[$a]:-}" "${RPS[$b]:-}")" "$(ratio "${P50[$a]:-}" "${P50[$b]:-}")" "$(ratio "${P99[$a]:-}" "${P99[$b]:-}")"
    done
    printf '(req/s ratio: higher is better; latency ratios: lower is better)\n'

    local bad=0
    for t in "${RUN[@]}"; do
        if ((BAD[$t] > 0)); then
            printf 'WARNING: %s had %s non-2xx responses or socket errors; its numbers do not measure successful calls\n' "$t" "${BAD[$t]}"
            bad=1
        fi
    done

    if wants gatehouse && wants yarp; then
        local r
        r=$(ratio "${RPS[gatehouse]:-}" "${RPS[yarp]:-}")
        if [[ $r == n/a ]]; then
            VERDICT="NOT MEASURED"
        elif ((BAD[gatehouse] > 0)); then
            VERDICT="FAIL (errors)"
        elif awk -v r="$r" -v m="$MIN_RATIO" 'BEGIN { exit !(r + 0 >= m + 0) }'; then
            VERDICT=PASS
        else
            VERDICT=FAIL
        fi
        printf '\ntarget gatehouse/yarp req/s >= %s: %s (%s)\n' "$MIN_RATIO" "$VERDICT" "$r"
    fi
    return 0
}

VERDICT=""
report | tee "$RESULTS_DIR/latest.txt"
# tee ran report in a subshell: recompute the verdict for the exit status.
VERDICT=$(sed -n 's/^target gatehouse\/yarp req\/s >= [^:]*: \(.*\) (.*)$/\1/p' "$RESULTS_DIR/latest.txt")
note "table written to ${RESULTS_DIR#"$ROOT"/}/latest.txt (raw wrk output: ${RESULTS_DIR#"$ROOT"/}/wrk-*.txt)"

if [[ $ENFORCE == 1 && -n $VERDICT && $VERDICT != PASS ]]; then
    echo "gatehouse/yarp target missed: $VERDICT" >&2
    exit 3
fi
exit 0
