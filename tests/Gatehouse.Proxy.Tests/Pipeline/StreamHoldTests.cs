using System.Net;
using Gatehouse.Proxy.Streams;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Pipeline;

/// <summary>Issue 10 item 7: long-lived streams and bridged sessions are capped per principal and end when access is revoked.</summary>
public sealed class StreamHoldTests
{
    [Fact]
    public async Task RevokedGrant_ItsOpenGetStreamEndsWithinASecond()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        var session = await InitializeAsync(s.Gateway, s.Server, s.Token);
        using var stream = await OpenGetStreamAsync(s.Gateway, s.Server, s.Token, session);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var ended = ReadToEndAsync(stream);

        Assert.Equal(0, (await s.Gateway.CliAsync("grant", "revoke", "laptop")).ExitCode);
        await ended.WaitAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task RevokedGrant_ItsHttpSseStreamToAStreamableUpstreamEndsWithinASecond()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        using var stream = await OpenLegacyStreamAsync(s.Gateway, s.Server, s.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var ended = ReadToEndAsync(stream);

        Assert.Equal(0, (await s.Gateway.CliAsync("grant", "revoke", "laptop")).ExitCode);
        await ended.WaitAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task GetStreams_OverThePerPrincipalCap_Get429WithRetryAfterAndAJsonRpcError_AndAnotherPrincipalIsUnaffected()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, proxyOptions: o => o.MaxOpenStreamsPerPrincipal = 2);
        using var first = await OpenLegacyStreamAsync(s.Gateway, s.Server, s.Token);
        using var second = await OpenLegacyStreamAsync(s.Gateway, s.Server, s.Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        using (var third = await OpenLegacyStreamAsync(s.Gateway, s.Server, s.Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.NotNull(third.Headers.RetryAfter);
            var body = await GatewayHarness.ReadJsonRpcAsync(third);
            Assert.Equal("GH1801", GatewayHarness.ErrorCode(body));
            Assert.Contains("2 open streams", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var other = await s.Gateway.CreateGrantAsync("desktop", s.Server);
        using (var theirs = await OpenLegacyStreamAsync(s.Gateway, s.Server, other))
        {
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        }

        // A stream that closes gives its place back.
        var firstEnded = ReadToEndAsync(first);
        first.Dispose();
        await firstEnded.WaitAsync(TimeSpan.FromSeconds(5));
        using var again = await OpenWhenFreeAsync(s.Gateway, s.Server, s.Token);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task BridgedSessions_OverThePerPrincipalCap_Get429()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, proxyOptions: o => o.MaxBridgedSessionsPerPrincipal = 2);
        for (var i = 0; i < 2; i++)
        {
            using var opened = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody);
            Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        }

        using var refused = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var body = await GatewayHarness.ReadJsonRpcAsync(refused);
        Assert.Equal("GH1802", GatewayHarness.ErrorCode(body));
        Assert.Equal(1, body.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task RevokedGrant_ItsBridgedSessionIsClosed_WithinASecond()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, proxyOptions: o => o.MaxBridgedSessionsPerPrincipal = 1);
        var session = await InitializeAsync(s.Gateway, s.Server, s.Token);
        using var stream = await OpenGetStreamAsync(s.Gateway, s.Server, s.Token, session);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var ended = ReadToEndAsync(stream);
        var registry = (Gatehouse.Proxy.Bridging.BridgeRegistry)s.Gateway.Services.GetService(typeof(Gatehouse.Proxy.Bridging.BridgeRegistry))!;
        Assert.Equal(1, registry.Count);

        Assert.Equal(0, (await s.Gateway.CliAsync("grant", "revoke", "laptop")).ExitCode);
        await ended.WaitAsync(TimeSpan.FromSeconds(1));
        var holds = (OpenStreamRegistry)s.Gateway.Services.GetService(typeof(OpenStreamRegistry))!;
        await WaitUntilAsync(s.Gateway, () => registry.Count == 0 && holds.Count == 0, TimeSpan.FromSeconds(1));
    }

    private static async Task<string> InitializeAsync(GatewayHarness gateway, string server, string token)
    {
        using var init = await gateway.PostAsync(server, token, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        using var initialized = await gateway.PostAsync(server, token, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        });
        Assert.Equal(HttpStatusCode.Accepted, initialized.StatusCode);
        return session;
    }

    private static async Task<HttpResponseMessage> OpenGetStreamAsync(GatewayHarness gateway, string server, string token, string session)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, gateway.McpUri(server));
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Add("Mcp-Session-Id", session);
        request.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        return await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task<HttpResponseMessage> OpenLegacyStreamAsync(GatewayHarness gateway, string server, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseUri, $"mcp/{server}/sse"));
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        return await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>
    /// Opens a stream once the gateway has seen the closed ones go (it learns of it asynchronously): only the second
    /// stream is still held, so the closed first one and the other principal's both gave their places back.
    /// </summary>
    private static async Task<HttpResponseMessage> OpenWhenFreeAsync(GatewayHarness gateway, string server, string token)
    {
        var holds = (OpenStreamRegistry)gateway.Services.GetService(typeof(OpenStreamRegistry))!;
        await WaitUntilAsync(gateway, () => holds.Count <= 1, TimeSpan.FromSeconds(5));
        return await OpenLegacyStreamAsync(gateway, server, token);
    }

    /// <summary>Completes when the stream ends, however it ends (closed, or the connection aborted).</summary>
    private static async Task ReadToEndAsync(HttpResponseMessage response)
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            while (await body.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    /// <summary>Waits, on the registry's release signal, for a condition the gateway reaches on its own threads; bounded in time.</summary>
    private static async Task WaitUntilAsync(GatewayHarness gateway, Func<bool> condition, TimeSpan limit)
    {
        var holds = (OpenStreamRegistry)gateway.Services.GetService(typeof(OpenStreamRegistry))!;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (condition())
            {
                reached.TrySetResult();
            }
        }

        holds.Released += Check;
        try
        {
            Check();
            await reached.Task.WaitAsync(limit);
        }
        finally
        {
            holds.Released -= Check;
        }
    }
}
