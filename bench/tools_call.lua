-- wrk script for bench/run.sh: every request is the same MCP tools/call over streamable HTTP.
--
-- The request is built once per wrk thread (no request()/response() hooks, which would put Lua on
-- the hot path and make the load generator slower). BENCH_BEARER_TOKEN, when set and not empty,
-- adds "Authorization: Bearer <token>" (run.sh sets it only for the Gatehouse target).

wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"

local token = os.getenv("BENCH_BEARER_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
