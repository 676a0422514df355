using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Pipeline;

/// <summary>Issue 10 item 6: quotas count every call that may have run, on every transport era.</summary>
public sealed class QuotaChargeTests
{
    private static string OneCallPolicy(string tool) => $$"""
        version: 1
        default: allow
        tools:
          {{tool}}:
            limits: [{ calls: 1, per: 1h }]
        """;

    private static string ToolCall(int id, string tool, string arguments = "{}") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":" + arguments + "}}";

    [Fact]
    public async Task ClientDisconnectingAfterSending_KeepsTheCharge_BecauseTheUpstreamRanTheCall()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);
        await s.Gateway.ApplyPolicyAsync("q", OneCallPolicy("slow"), "--server", s.Server);

        var call = s.Gateway.PostAsync(s.Server, s.Token, StatelessSlowCall(1, 60000), StatelessHeaders("slow"));
        await s.Upstream.SlowCallStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        s.Gateway.Http.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await s.Upstream.CancellationObserved.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using var second = await s.Gateway.PostAsync(s.Server, s.Token, StatelessSlowCall(2, 0), StatelessHeaders("slow"));
        var body = await GatewayHarness.ReadJsonRpcAsync(second);
        Assert.Equal("GH1602", GatewayHarness.ErrorCode(body));
        Assert.Single(s.Upstream.Requests, r => r.Body?.Contains("tools/call", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task UpstreamTimeout_KeepsTheCharge_BecauseTheUpstreamGotTheCall()
    {
        var release = new TaskCompletionSource();
        await using var hanging = await ScriptedUpstream.StartAsync(context => release.Task.WaitAsync(context.RequestAborted));
        await using var gateway = await GatewayHarness.StartAsync(o => o.UpstreamTimeout = TimeSpan.FromMilliseconds(300));
        await gateway.AddServerAsync("hang", hanging.Uri);
        var token = await gateway.CreateGrantAsync("laptop", "hang");
        await gateway.ApplyPolicyAsync("q", OneCallPolicy("work"), "--server", "hang");

        using (var first = await gateway.PostAsync("hang", token, ToolCall(1, "work")))
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, first.StatusCode);
        }

        Assert.Contains("\"work\"", await hanging.FirstRequest.Task.WaitAsync(TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
        release.TrySetResult();
        using var second = await gateway.PostAsync("hang", token, ToolCall(2, "work"));
        Assert.Equal("GH1602", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(second)));
        Assert.Equal(1, hanging.RequestCount);
    }

    [Fact]
    public async Task UpstreamDown_ReleasesTheCharge_BecauseTheCallNeverLeft()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("down", new Uri($"http://127.0.0.1:{ClosedPort()}/mcp"));
        var token = await gateway.CreateGrantAsync("laptop", "down");
        await gateway.ApplyPolicyAsync("q", OneCallPolicy("work"), "--server", "down");

        for (var id = 1; id <= 3; id++)
        {
            using var response = await gateway.PostAsync("down", token, ToolCall(id, "work"));
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("GH1501", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(response)));
        }
    }

    [Fact]
    public async Task LegacyMessagePath_UpstreamDown_ReleasesTheCharge()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse);
        await s.Gateway.ApplyPolicyAsync("q", OneCallPolicy("echo"), "--server", s.Server);
        var endpoint = await ReadEndpointEventAsync(s.Gateway, s.Server, s.Token);
        await s.Upstream.DisposeAsync();

        for (var id = 1; id <= 3; id++)
        {
            using var response = await PostMessageAsync(s.Gateway, endpoint, s.Token, ToolCall(id, "echo", """{"text":"x"}"""));
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("GH1501", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(response)));
        }
    }

    [Fact]
    public async Task LegacyMessagePath_CallThatReachedTheUpstream_KeepsTheCharge()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse);
        await s.Gateway.ApplyPolicyAsync("q", OneCallPolicy("echo"), "--server", s.Server);
        var endpoint = await ReadEndpointEventAsync(s.Gateway, s.Server, s.Token);

        using (var first = await PostMessageAsync(s.Gateway, endpoint, s.Token, ToolCall(1, "echo", """{"text":"x"}""")))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using var second = await PostMessageAsync(s.Gateway, endpoint, s.Token, ToolCall(2, "echo", """{"text":"y"}"""));
        Assert.Equal("GH1602", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(second)));
    }

    private static string StatelessSlowCall(int id, int ms) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":" + ms + "},"
        + """ "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}""";

    private static Action<HttpRequestMessage> StatelessHeaders(string tool) => r =>
    {
        r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
        r.Headers.Add("Mcp-Method", "tools/call");
        r.Headers.Add("Mcp-Name", tool);
    };

    /// <summary>Opens the gateway's HTTP+SSE stream, reads its endpoint event, and closes it (the ticket outlives the stream).</summary>
    internal static async Task<string> ReadEndpointEventAsync(GatewayHarness gateway, string server, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseUri, $"mcp/{server}/sse"));
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(timeout.Token))
        {
            if (item.EventType == "endpoint")
            {
                return item.Data;
            }
        }

        throw new InvalidOperationException("The stream ended without an endpoint event.");
    }

    internal static async Task<HttpResponseMessage> PostMessageAsync(GatewayHarness gateway, string endpoint, string token, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseUri, endpoint)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", token);
        return await gateway.Http.SendAsync(request);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
