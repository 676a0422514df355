using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Gatehouse.Host.Hosting;
using Gatehouse.Proxy.Telemetry;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol.Client;

namespace Gatehouse.Proxy.Tests.Telemetry;

/// <summary>
/// Runs alone: an OpenTelemetry meter provider listens to every meter named "Gatehouse" in the process, so a gateway
/// started by a test running in parallel would publish same-named instruments into this test's scrape.
/// </summary>
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryCollection;

[Collection(nameof(TelemetryTests))]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Metrics_AfterAToolCall_CountTheRequestByServerMethodAndDecision_WithDurations()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await using (var client = await s.Gateway.ConnectAsync(s.Server, s.Token))
        {
            await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        }

        var text = await ScrapeUntilAsync(s.Gateway, t => MetricLines(t, "gatehouse_requests_total{").Any(l =>
            l.Contains("server=\"echo\"", StringComparison.Ordinal)
            && l.Contains("method=\"tools/call\"", StringComparison.Ordinal)
            && l.Contains("decision=\"allow\"", StringComparison.Ordinal)));

        Assert.Contains(MetricLines(text, "gatehouse_request_duration_seconds_bucket{"), l =>
            l.Contains("server=\"echo\"", StringComparison.Ordinal) && l.Contains("decision=\"allow\"", StringComparison.Ordinal));
        Assert.Contains(MetricLines(text, "gatehouse_request_duration_seconds_count{"), l => l.Contains("server=\"echo\"", StringComparison.Ordinal));
        Assert.Contains(MetricLines(text, "gatehouse_upstream_duration_seconds_bucket{"), l =>
            l.Contains("server=\"echo\"", StringComparison.Ordinal) && l.Contains("status_class=\"2xx\"", StringComparison.Ordinal));
        Assert.Contains(MetricLines(text, "gatehouse_policy_decisions_total{"), l =>
            l.Contains("server=\"echo\"", StringComparison.Ordinal) && l.Contains("rule=\"(no policy)\"", StringComparison.Ordinal));
        Assert.Contains("gatehouse_decision_log_pending", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_NeverCarryTokens_GrantLabels_OrNamesAClientMadeUp()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await using (var client = await s.Gateway.ConnectAsync(s.Server, s.Token))
        {
            await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        }

        // A server name and a JSON-RPC method nobody registered: each would be a new time series if used as a tag.
        using (var unknownServer = await s.Gateway.PostAsync("made-up-server-7f3a", s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknownServer.StatusCode);
        }

        using (var unknownMethod = await s.Gateway.PostAsync(s.Server, s.Token, """{"jsonrpc":"2.0","id":7,"method":"made/up-method-7f3a"}"""))
        {
        }

        var text = await ScrapeUntilAsync(s.Gateway, t =>
            MetricLines(t, "gatehouse_requests_total{").Any(l => l.Contains($"server=\"{GatehouseTelemetry.UnverifiedServer}\"", StringComparison.Ordinal))
            && MetricLines(t, "gatehouse_requests_total{").Any(l => l.Contains($"method=\"{GatehouseTelemetry.OtherMethod}\"", StringComparison.Ordinal)));

        Assert.DoesNotContain(s.Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(s.Token["gth_".Length..][..16], text, StringComparison.Ordinal);
        Assert.DoesNotContain("laptop", text, StringComparison.Ordinal);
        Assert.DoesNotContain("made-up-server-7f3a", text, StringComparison.Ordinal);
        Assert.DoesNotContain("made/up-method-7f3a", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Traces_OneServerActivityPerProxiedRequest_WithServerDecisionAndTarget()
    {
        var stopped = new ConcurrentQueue<Activity>();
        var arrived = new SemaphoreSlim(0);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GatehouseTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                stopped.Enqueue(activity);
                arrived.Release();
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        // Each request carries its own trace id, so its activity is found among those of tests running alongside.
        var traces = Enumerable.Range(0, 4).Select(_ => ActivityTraceId.CreateRandom()).ToArray();
        Action<HttpRequestMessage> Traced(ActivityTraceId trace, string? session = null) => r =>
        {
            r.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            if (session is not null)
            {
                r.Headers.Add("Mcp-Session-Id", session);
                r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
            }
        };

        using var init = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody, Traced(traces[0]));
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        using var initialized = await s.Gateway.PostAsync(s.Server, s.Token, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", Traced(traces[1], session));
        Assert.True(initialized.IsSuccessStatusCode, $"notifications/initialized answered {initialized.StatusCode}");
        using var call = await s.Gateway.PostAsync(
            s.Server, s.Token, """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}""", Traced(traces[2], session));
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        await call.Content.ReadAsStringAsync();
        using var refused = await s.Gateway.PostAsync(s.Server, "gth_not-a-real-token", GatewayHarness.InitializeBody, Traced(traces[3]));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // Activities stop when the request's handler returns, which may be just after the client has its answer.
        List<Activity> Ours() => [.. stopped.Where(a => traces.Contains(a.TraceId))];
        var deadline = Stopwatch.StartNew();
        while (Ours().Count < traces.Length && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await arrived.WaitAsync(TimeSpan.FromSeconds(1));
        }

        var ours = Ours();
        foreach (var trace in traces)
        {
            var activity = Assert.Single(ours, a => a.TraceId == trace);
            Assert.Equal(GatehouseTelemetry.ProxyActivityName, activity.OperationName);
            Assert.Equal(ActivityKind.Server, activity.Kind);
            Assert.Equal("echo", activity.GetTagItem("gatehouse.server"));
        }

        var toolCall = ours.Single(a => a.TraceId == traces[2]);
        Assert.Equal("tools/call", toolCall.GetTagItem("gatehouse.method"));
        Assert.Equal("echo", toolCall.GetTagItem("gatehouse.target"));
        Assert.Equal("allow", toolCall.GetTagItem("gatehouse.decision"));
        Assert.Equal("laptop", toolCall.GetTagItem("gatehouse.principal"));
        Assert.Equal(200, toolCall.GetTagItem("gatehouse.upstream.status_code"));
        Assert.IsType<double>(toolCall.GetTagItem("gatehouse.upstream.duration"));
        Assert.Equal(ActivityStatusCode.Unset, toolCall.Status);

        var error = ours.Single(a => a.TraceId == traces[3]);
        Assert.Equal("error", error.GetTagItem("gatehouse.decision"));
        Assert.Equal(ActivityStatusCode.Error, error.Status);
        Assert.NotNull(error.GetTagItem("gatehouse.error.code"));
        Assert.Null(error.GetTagItem("gatehouse.principal"));

        foreach (var tag in ours.SelectMany(a => a.TagObjects))
        {
            Assert.DoesNotContain(s.Token, tag.Value?.ToString() ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain("gth_not-a-real-token", tag.Value?.ToString() ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MetricsOff_ServesNoScrapeEndpoint()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("gatehouse-test-").FullName;
        try
        {
            await using var app = await GatehouseApplication.BuildAsync(new ServeSettings
            {
                DataDirectory = dataDirectory, Urls = "http://127.0.0.1:0", MetricsEnabled = false,
            });
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
            using var response = await http.GetAsync(GatehouseApplication.MetricsPath);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Theory]
    [InlineData(200, "2xx")]
    [InlineData(404, "4xx")]
    [InlineData(503, "5xx")]
    [InlineData(null, "none")]
    [InlineData(42, "none")]
    public void StatusClass_IsBounded(int? status, string expected) =>
        Assert.Equal(expected, GatehouseTelemetry.StatusClass(status));

    [Theory]
    [InlineData("tools/call", "tools/call")]
    [InlineData("GET", "GET")]
    [InlineData("(batch)", "(batch)")]
    [InlineData("tools/call2", "(other)")]
    [InlineData("x/y", "(other)")]
    public void BoundedMethod_KeepsKnownMethodsOnly(string method, string expected) =>
        Assert.Equal(expected, GatehouseTelemetry.BoundedMethod(method));

    private static IEnumerable<string> MetricLines(string text, string prefix) =>
        text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Scrapes until <paramref name="ready"/> holds (a request is counted when its handler returns, just after the client's answer).</summary>
    private static async Task<string> ScrapeUntilAsync(GatewayHarness gateway, Func<string, bool> ready)
    {
        var text = "";
        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var response = await gateway.Http.GetAsync(GatehouseApplication.MetricsPath.TrimStart('/'));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            if (ready(text))
            {
                return text;
            }
        }

        Assert.Fail("The expected series never appeared in /metrics:\n" + text);
        return text;
    }
}
