using System.Net;
using System.Net.Sockets;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tests.Upstreams;

public sealed class UpstreamFailureTests
{
    [Fact]
    public async Task UpstreamDown_Gets502WithJsonRpcErrorEchoingTheId()
    {
        var closedPort = FreePort();
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("down", new Uri($"http://127.0.0.1:{closedPort}/mcp"));
        var token = await gateway.CreateGrantAsync("laptop", "down");

        using var response = await gateway.PostAsync("down", token, """{"jsonrpc":"2.0","id":"req-9","method":"tools/list"}""");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("req-9", body.GetProperty("id").GetString());
        Assert.Equal("GH1501", GatewayHarness.ErrorCode(body));
    }

    [Fact]
    public async Task SlowUpstream_Gets504AfterTheTimeout_NotAHang()
    {
        var release = new TaskCompletionSource();
        await using var slow = await RawUpstream.StartAsync(async context =>
        {
            await release.Task.WaitAsync(context.RequestAborted);
        });
        await using var gateway = await GatewayHarness.StartAsync(o => o.UpstreamTimeout = TimeSpan.FromMilliseconds(300));
        await gateway.AddServerAsync("slow", slow.Uri);
        var token = await gateway.CreateGrantAsync("laptop", "slow");

        using var response = await gateway.PostAsync("slow", token, """{"jsonrpc":"2.0","id":3,"method":"tools/list"}""");
        release.TrySetResult();
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1502", GatewayHarness.ErrorCode(body));
    }

    [Theory]
    [InlineData("text/html", "<html>oops</html>", 200)]
    [InlineData("application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"res", 200)]
    [InlineData("text/plain", "Internal Server Error", 500)]
    public async Task GarbageFromUpstream_Gets502WithAClearMessage(string contentType, string payload, int status)
    {
        await using var garbage = await RawUpstream.StartAsync(async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync(payload);
        });
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("garbage", garbage.Uri);
        var token = await gateway.CreateGrantAsync("laptop", "garbage");

        using var response = await gateway.PostAsync("garbage", token, """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1503", GatewayHarness.ErrorCode(body));
        Assert.DoesNotContain("oops", body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamRefusingGatewayCredential_IsNotReportedAsTheClientsFault()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "keyed", upstreamOptions: new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", "right") }, headers: "X-Api-Key: wrong");

        using var response = await s.Gateway.PostAsync("keyed", s.Token, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(response.Headers.WwwAuthenticate);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1504", GatewayHarness.ErrorCode(body));
        Assert.DoesNotContain("wrong", body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedBody_Gets413_AndNeverReachesUpstream()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, proxyOptions: o => o.MaxRequestBytes = 1024);

        var big = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"X"}}}""".Replace("X", new string('x', 4096), StringComparison.Ordinal);
        using var response = await s.Gateway.PostAsync("echo", s.Token, big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(s.Upstream.Requests);
    }

    [Theory]
    [InlineData("{not json", HttpStatusCode.BadRequest, -32700)]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"ping"}""", HttpStatusCode.BadRequest, -32600)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"method":"ping"}""", HttpStatusCode.BadRequest, -32600)]
    [InlineData("42", HttpStatusCode.BadRequest, -32600)]
    public async Task MalformedJsonRpc_Gets400WithTheRightCode(string json, HttpStatusCode status, int code)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var response = await s.Gateway.PostAsync("echo", s.Token, json);
        Assert.Equal(status, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal(code, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(s.Upstream.Requests);
    }

    [Fact]
    public async Task ClientDisconnectDuringStatelessCall_CancelsTheUpstreamCall()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);

        using var cts = new CancellationTokenSource();
        var call = s.Gateway.PostAsync("echo", s.Token,
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{"ms":60000},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}""",
            r =>
            {
                r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
                r.Headers.Add("Mcp-Method", "tools/call");
                r.Headers.Add("Mcp-Name", "slow");
            });
        await s.Upstream.SlowCallStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        s.Gateway.Http.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await s.Upstream.CancellationObserved.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A hand-written HTTP server on 127.0.0.1:0 for upstream misbehaviour the SDK would never produce.</summary>
    private sealed class RawUpstream : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private RawUpstream(WebApplication app, Uri uri)
        {
            _app = app;
            Uri = uri;
        }

        public Uri Uri { get; }

        public static async Task<RawUpstream> StartAsync(RequestDelegate handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.Run(handler);
            await app.StartAsync();
            return new RawUpstream(app, new Uri(app.Urls.Single() + "/mcp"));
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
