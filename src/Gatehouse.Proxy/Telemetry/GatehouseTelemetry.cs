using System.Collections.Frozen;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gatehouse.Core.Decisions;
using Gatehouse.Proxy.Recording;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Telemetry;

/// <summary>The gateway's OpenTelemetry-compatible instruments: one <see cref="Meter"/> and one <see cref="ActivitySource"/>.</summary>
/// <remarks>
/// Nothing here depends on the OpenTelemetry SDK: the host decides whether anything listens. With no listener an
/// instrument's <c>Enabled</c> is false and <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null,
/// so the request path pays a few branches. Tags are bounded: never tokens, principal ids, argument values, or names a
/// client can invent (an unknown server or JSON-RPC method is folded into one value).
/// </remarks>
public sealed class GatehouseTelemetry : IDisposable
{
    /// <summary>The name of the meter (and of the Prometheus scope).</summary>
    public const string MeterName = "Gatehouse";

    /// <summary>The name of the activity source.</summary>
    public const string ActivitySourceName = "Gatehouse";

    /// <summary>The activity started for each proxied request.</summary>
    public const string ProxyActivityName = "gatehouse.proxy";

    /// <summary>Counter of proxied requests; tags <c>server</c>, <c>method</c>, <c>decision</c>.</summary>
    public const string RequestsName = "gatehouse.requests";

    /// <summary>Histogram of request durations in seconds; tags <c>server</c>, <c>method</c>, <c>decision</c>.</summary>
    public const string RequestDurationName = "gatehouse.request.duration";

    /// <summary>Histogram of upstream durations (send until response headers) in seconds; tags <c>server</c>, <c>status_class</c>.</summary>
    public const string UpstreamDurationName = "gatehouse.upstream.duration";

    /// <summary>Counter of policy decisions on tools, resources and prompts; tags <c>server</c>, <c>decision</c>, <c>rule</c>.</summary>
    public const string PolicyDecisionsName = "gatehouse.policy.decisions";

    /// <summary>Counter of upstream OAuth token refreshes; tags <c>server</c>, <c>outcome</c>.</summary>
    public const string TokenRefreshesName = "gatehouse.upstream.token_refreshes";

    /// <summary>Gauge of decision records queued and not yet stored.</summary>
    public const string DecisionLogPendingName = "gatehouse.decision_log.pending";

    /// <summary>Counter of decision records not stored because the decision log's queue was full.</summary>
    public const string DecisionLogOverflowName = "gatehouse.decision_log.overflow";

    /// <summary>Counter of requests refused (GH1800) because the decision log was full and the gateway fails closed; tag <c>server</c>.</summary>
    public const string DecisionLogRefusalsName = "gatehouse.decision_log.refusals";

    /// <summary>Counter of requests refused before anyone was authenticated (no decision record is kept for them); tag <c>code</c>.</summary>
    public const string UnauthenticatedRejectionsName = "gatehouse.rejections.unauthenticated";

    /// <summary>The <c>server</c> tag of a request rejected before its server was resolved (the name came from the client).</summary>
    public const string UnverifiedServer = "(unverified)";

    /// <summary>The <c>method</c> tag of a JSON-RPC method Gatehouse does not know.</summary>
    public const string OtherMethod = "(other)";

    /// <summary>The <c>status_class</c> tag when no upstream response arrived (timeout, refused connection).</summary>
    public const string NoResponse = "none";

    // Seconds. The SDK's default boundaries are meant for milliseconds; a gateway hop is usually well under 1 ms and
    // an upstream tool call can take tens of seconds.
    private static readonly double[] DurationBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private const string UpstreamDurationTag = "gatehouse.upstream.duration";

    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    // The method tag comes from the request body, so only known names pass through; anything else would let a client
    // create one time series per request.
    private static readonly FrozenSet<string> KnownMethods = FrozenSet.Create(
        StringComparer.Ordinal,
        "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
        "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete",
        "logging/setLevel", "roots/list", "sampling/createMessage", "elicitation/create",
        "tasks/get", "tasks/result", "tasks/list", "tasks/cancel",
        "notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/message",
        "notifications/roots/list_changed", "notifications/tasks/status",
        "(batch)", "(response)", "GET", "POST", "DELETE", "OPTIONS");

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private Func<long>? _pendingDecisions;
    private Func<long>? _overflowedDecisions;

    /// <summary>Creates the instruments, through <paramref name="meterFactory"/> when the host has one.</summary>
    public GatehouseTelemetry(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        Source = new ActivitySource(ActivitySourceName);
        var durationAdvice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        Requests = _meter.CreateCounter<long>(RequestsName, "{request}", "Proxied MCP requests, by server, method and decision.");
        RequestDuration = _meter.CreateHistogram(RequestDurationName, "s", "Time from receiving a proxied request to finishing its response.", advice: durationAdvice);
        UpstreamDuration = _meter.CreateHistogram(UpstreamDurationName, "s", "Time from sending a request upstream to receiving its response headers.", advice: durationAdvice);
        PolicyDecisions = _meter.CreateCounter<long>(PolicyDecisionsName, "{decision}", "Policy decisions on tool calls, resource reads and prompt gets, by rule.");
        TokenRefreshes = _meter.CreateCounter<long>(TokenRefreshesName, "{refresh}", "Upstream OAuth access token refreshes, by outcome.");
        _meter.CreateObservableGauge(DecisionLogPendingName, ObservePending, "{record}", "Decision records queued and not yet stored.");
        _meter.CreateObservableCounter(DecisionLogOverflowName, ObserveOverflow, "{record}", "Decision records not stored because the decision log's queue was full.");
        DecisionLogRefusals = _meter.CreateCounter<long>(DecisionLogRefusalsName, "{request}", "Requests refused because the decision log was full (fail closed).");
        UnauthenticatedRejections = _meter.CreateCounter<long>(UnauthenticatedRejectionsName, "{request}", "Requests refused before authentication; they leave no decision record.");
    }

    /// <summary><see cref="DecisionLogRefusalsName"/>.</summary>
    public Counter<long> DecisionLogRefusals { get; }

    /// <summary><see cref="UnauthenticatedRejectionsName"/>.</summary>
    public Counter<long> UnauthenticatedRejections { get; }

    /// <summary>Reports the decision log's overflow count through <see cref="DecisionLogOverflowName"/>.</summary>
    public void ObserveDecisionOverflow(Func<long> overflowed) => Volatile.Write(ref _overflowedDecisions, overflowed);

    /// <summary>The source of the per-request activities.</summary>
    public ActivitySource Source { get; }

    /// <summary><see cref="RequestsName"/>.</summary>
    public Counter<long> Requests { get; }

    /// <summary><see cref="RequestDurationName"/>.</summary>
    public Histogram<double> RequestDuration { get; }

    /// <summary><see cref="UpstreamDurationName"/>.</summary>
    public Histogram<double> UpstreamDuration { get; }

    /// <summary><see cref="PolicyDecisionsName"/>.</summary>
    public Counter<long> PolicyDecisions { get; }

    /// <summary><see cref="TokenRefreshesName"/>.</summary>
    public Counter<long> TokenRefreshes { get; }

    /// <summary>Reports the decision log's queue length through <see cref="DecisionLogPendingName"/> (the proxy does not know the storage).</summary>
    public void ObservePendingDecisions(Func<long> pending) => Volatile.Write(ref _pendingDecisions, pending);

    /// <summary>Starts the request's activity, or returns null when no listener wants it (the usual, cheap case).</summary>
    public Activity? StartProxyActivity(HttpRequest request)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // Without ASP.NET Core's own request activity the caller's trace context would be lost; take it from the headers.
        var parent = default(ActivityContext);
        if (Activity.Current is null && request.Headers.TryGetValue("traceparent", out var traceParent))
        {
            var traceState = request.Headers.TryGetValue("tracestate", out var state) ? state.ToString() : null;
            _ = ActivityContext.TryParse(traceParent.ToString(), traceState, isRemote: true, out parent);
        }

        return Source.StartActivity(ProxyActivityName, ActivityKind.Server, parent);
    }

    /// <summary>Records a finished request: its metrics and, when traced, its activity's tags and end.</summary>
    public void RecordCompleted(ProxyExchange exchange, TimeSpan elapsed)
    {
        if (exchange.Activity is { } activity)
        {
            EndActivity(activity, exchange);
        }

        if (!Requests.Enabled && !RequestDuration.Enabled && !PolicyDecisions.Enabled)
        {
            return;
        }

        // Until admission resolved the server (and authenticated someone for it), the name is whatever the client put in the URL.
        var server = exchange.Principal is null ? UnverifiedServer : exchange.Server;
        var tags = new TagList
        {
            { "server", server },
            { "method", BoundedMethod(exchange.Method) },
            { "decision", exchange.Decision },
        };
        Requests.Add(1, in tags);
        RequestDuration.Record(elapsed.TotalSeconds, in tags);

        // Only requests with a target (tool, resource, prompt) were decided by a rule; list and session traffic was not.
        if (exchange.Rule is { } rule && exchange.Target is not null && PolicyDecisions.Enabled)
        {
            var decisionTags = new TagList
            {
                { "server", server },
                { "decision", exchange.Decision },
                { "rule", rule },
            };
            PolicyDecisions.Add(1, in decisionTags);
        }
    }

    /// <summary>Records one upstream exchange (<paramref name="status"/> null when no response arrived).</summary>
    public void RecordUpstream(string server, int? status, TimeSpan elapsed)
    {
        // The forwarder is not handed the request's exchange on every path, but the request's activity is current.
        if (Activity.Current is { IsAllDataRequested: true } current && ReferenceEquals(current.Source, Source))
        {
            current.SetTag(UpstreamDurationTag, elapsed.TotalSeconds);
        }

        if (!UpstreamDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "server", server },
            { "status_class", StatusClass(status) },
        };
        UpstreamDuration.Record(elapsed.TotalSeconds, in tags);
    }

    /// <summary>Counts an upstream OAuth token refresh (<paramref name="outcome"/>: a fixed word such as success or failure).</summary>
    public void RecordTokenRefresh(string server, string outcome)
    {
        var tags = new TagList
        {
            { "server", server },
            { "outcome", outcome },
        };
        TokenRefreshes.Add(1, in tags);
    }

    /// <summary>The <c>method</c> tag for a method: itself when known, otherwise <see cref="OtherMethod"/>.</summary>
    public static string BoundedMethod(string method) =>
        KnownMethods.TryGetValue(method, out var known) ? known : OtherMethod;

    /// <summary>The <c>status_class</c> tag: 2xx, 4xx… or <see cref="NoResponse"/>.</summary>
    public static string StatusClass(int? status) =>
        status is >= 100 and < 600 ? StatusClasses[status.Value / 100 - 1] : NoResponse;

    /// <inheritdoc />
    public void Dispose()
    {
        Source.Dispose();
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static void EndActivity(Activity activity, ProxyExchange exchange)
    {
        // Traces are not aggregated, so the raw names and the grant label are fine here; principal ids, tokens and
        // argument values still never appear.
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("gatehouse.server", exchange.Server);
            activity.SetTag("gatehouse.method", exchange.Method);
            activity.SetTag("gatehouse.target", exchange.Target);
            activity.SetTag("gatehouse.decision", exchange.Decision);
            activity.SetTag("gatehouse.rule", exchange.Rule);
            activity.SetTag("gatehouse.principal", exchange.Principal?.Label);
            activity.SetTag("gatehouse.upstream.status_code", exchange.UpstreamStatus);
            if (exchange.UpstreamDuration is { } upstream)
            {
                // Only when known: a null would erase the value RecordUpstream set from the current activity.
                activity.SetTag(UpstreamDurationTag, upstream.TotalSeconds);
            }

            activity.SetTag("gatehouse.error.code", exchange.ErrorCode);
        }

        if (exchange.Decision == DecisionKinds.Error)
        {
            activity.SetStatus(ActivityStatusCode.Error, exchange.ErrorCode);
        }

        activity.Dispose();
    }

    private IEnumerable<Measurement<long>> ObserveOverflow() =>
        Volatile.Read(ref _overflowedDecisions) is { } overflowed ? [new Measurement<long>(overflowed())] : [];

    private IEnumerable<Measurement<long>> ObservePending() =>
        Volatile.Read(ref _pendingDecisions) is { } pending ? [new Measurement<long>(pending())] : [];
}
