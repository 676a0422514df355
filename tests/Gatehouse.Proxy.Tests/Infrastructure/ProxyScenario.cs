using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>The usual arrangement: one real upstream, a gateway with it registered as a server, and a grant for it.</summary>
public sealed class ProxyScenario : IAsyncDisposable
{
    private ProxyScenario(TestUpstream upstream, GatewayHarness gateway, string server, string token)
    {
        Upstream = upstream;
        Gateway = gateway;
        Server = server;
        Token = token;
    }

    public TestUpstream Upstream { get; }

    public GatewayHarness Gateway { get; }

    /// <summary>The registered server's name.</summary>
    public string Server { get; }

    /// <summary>A grant token (label <c>laptop</c>) for <see cref="Server"/>.</summary>
    public string Token { get; }

    /// <summary>Starts the upstream and the gateway, registers the server (at its SSE URL for legacy upstreams) and creates the grant.</summary>
    public static async Task<ProxyScenario> StartAsync(
        UpstreamMode mode, string server = "echo", string? transport = null, TestUpstreamOptions? upstreamOptions = null,
        Action<ProxyOptions>? proxyOptions = null, params string[] headers)
    {
        var upstream = await TestUpstream.StartAsync(mode, upstreamOptions);
        var gateway = await GatewayHarness.StartAsync(proxyOptions);
        var url = mode == UpstreamMode.LegacySse ? upstream.SseUri : upstream.McpUri;
        await gateway.AddServerAsync(server, url, transport ?? (mode == UpstreamMode.LegacySse ? "sse" : "streamable-http"), headers);
        var token = await gateway.CreateGrantAsync("laptop", server);
        return new ProxyScenario(upstream, gateway, server, token);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
