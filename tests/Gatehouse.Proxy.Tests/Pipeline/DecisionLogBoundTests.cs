using System.Diagnostics.Metrics;
using System.Net;
using Gatehouse.Proxy.Telemetry;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Storage.Decisions;
using Gatehouse.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Proxy.Tests.Pipeline;

/// <summary>Issue 10 item 7: the decision log is bounded in bytes, fails closed when full, and unauthenticated traffic leaves no records.</summary>
/// <remarks>
/// Runs with the telemetry tests, alone: it reads process-wide "Gatehouse" meters, which gateways started by tests running
/// in parallel would also count into.
/// </remarks>
[Collection(nameof(Gatehouse.Proxy.Tests.Telemetry.TelemetryTests))]
public sealed class DecisionLogBoundTests
{
    private const string ToolsList =
        """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}""";

    [Fact]
    public async Task StalledStorage_FillsTheBoundedQueue_ThenRequestsGet503FailClosed_AndEveryRecordIsStoredOrCounted()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.Stateless);
        await using var gateway = await GatewayHarness.StartAsync(settings: s => s with { DecisionQueueBytes = 8 * 1024 });
        await gateway.AddServerAsync("echo", upstream.McpUri);
        var token = await gateway.CreateGrantAsync("laptop", "echo");
        var writer = gateway.Services.GetRequiredService<DecisionLogWriter>();
        var telemetry = gateway.Services.GetRequiredService<GatehouseTelemetry>();
        using var refusals = new InstrumentCount(telemetry.DecisionLogRefusals);
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var writtenBefore = writer.Written;

        // Another writer holds the database: the decision log's inserts wait, so its queue only grows.
        var sent = 0;
        var forwarded = 0;
        HttpStatusCode status;
        await using (var blocker = new SqliteConnection($"Data Source={Path.Combine(gateway.DataDirectory, GatehouseStorage.DatabaseFileName)};Pooling=False"))
        {
            await blocker.OpenAsync();
            await using var lockHold = blocker.BeginTransaction(System.Data.IsolationLevel.Serializable);
            using (var take = blocker.CreateCommand())
            {
                take.Transaction = lockHold;
                take.CommandText = "INSERT INTO decisions (At, RequestId, PrincipalId, PrincipalLabel, Server, Method, Decision, ArgumentKeysJson, LatencyMs) VALUES (0, 'lock', 'x', 'x', 'x', 'x', 'x', '[]', 0); DELETE FROM decisions WHERE RequestId = 'lock';";
                await take.ExecuteNonQueryAsync();
            }

            upstream.ClearRequests();
            using var first503 = await SendUntilAsync(gateway, token, HttpStatusCode.ServiceUnavailable, max: 200, onSent: ok => { sent++; forwarded += ok ? 1 : 0; });
            status = first503.StatusCode;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.True(first503.Headers.RetryAfter is not null, "a 503 says when to retry");
            var body = await GatewayHarness.ReadJsonRpcAsync(first503);
            Assert.Equal("GH1800", GatewayHarness.ErrorCode(body));
            Assert.Contains("decision log is unavailable", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

            for (var i = 0; i < 3; i++)
            {
                using var again = await gateway.PostAsync("echo", token, ToolsList, StatelessHeaders);
                sent++;
                Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
            }

            // Refused requests never reached the upstream.
            Assert.Equal(forwarded, upstream.Requests.Count(r => r.Method == "POST"));
            lockHold.Rollback();
        }

        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(refusals.Total >= 4, $"the refusals metric counted {refusals.Total}");
        Assert.Equal(0, writer.Dropped);
        Assert.True(writer.Overflowed > 0);
        Assert.Equal(sent, writer.Written - writtenBefore + writer.Overflowed);

        using var recovered = await gateway.PostAsync("echo", token, ToolsList, StatelessHeaders);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task HundredAnonymousRequests_LeaveNoDecisionRecords_ButAreCounted_WhileAuthenticatedRefusalsAreKept()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);
        var writer = s.Gateway.Services.GetRequiredService<DecisionLogWriter>();
        var telemetry = s.Gateway.Services.GetRequiredService<GatehouseTelemetry>();
        using var anonymous = new InstrumentCount(telemetry.UnauthenticatedRejections);
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var writtenBefore = writer.Written;

        for (var i = 0; i < 100; i++)
        {
            using var response = await s.Gateway.PostAsync(s.Server, i % 2 == 0 ? null : "gth_not-a-real-token", ToolsList, StatelessHeaders);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // A valid grant used on a server it does not cover is refused before anyone is authenticated for that server: counted, not recorded.
        using (var refused = await s.Gateway.PostAsync("no-such-server", s.Token, ToolsList, StatelessHeaders))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await s.Gateway.ApplyPolicyAsync("deny", "version: 1\ndefault: deny\n", "--server", s.Server);
        using (var denied = await s.Gateway.PostAsync(s.Server, s.Token,
            """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}""",
            r => { r.Headers.Add("MCP-Protocol-Version", "2026-07-28"); r.Headers.Add("Mcp-Method", "tools/call"); r.Headers.Add("Mcp-Name", "echo"); }))
        {
            Assert.Equal("GH1601", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(denied)));
        }

        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, writer.Written - writtenBefore);
        Assert.True(anonymous.Total >= 101, $"the unauthenticated metric counted {anonymous.Total}");
    }

    private static void StatelessHeaders(HttpRequestMessage r)
    {
        r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
        r.Headers.Add("Mcp-Method", "tools/list");
    }

    private static async Task<HttpResponseMessage> SendUntilAsync(GatewayHarness gateway, string token, HttpStatusCode wanted, int max, Action<bool> onSent)
    {
        for (var i = 0; i < max; i++)
        {
            var response = await gateway.PostAsync("echo", token, ToolsList, StatelessHeaders);
            onSent(response.StatusCode == HttpStatusCode.OK);
            if (response.StatusCode == wanted)
            {
                return response;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        var writer = gateway.Services.GetRequiredService<DecisionLogWriter>();
        throw new Xunit.Sdk.XunitException($"no {wanted} within {max} requests: pending {writer.Pending}, bytes {writer.QueuedBytes}, written {writer.Written}, accepting {writer.Accepting}, log {gateway.Services.GetRequiredService<Gatehouse.Core.Decisions.IDecisionLog>().GetType().Name}");
    }

    /// <summary>Sums one instrument's measurements (this gateway's instance only, so parallel tests do not interfere).</summary>
    private sealed class InstrumentCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public InstrumentCount(Instrument instrument)
        {
            _listener.InstrumentPublished = (published, listener) =>
            {
                if (ReferenceEquals(published, instrument))
                {
                    listener.EnableMeasurementEvents(published);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
