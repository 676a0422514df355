using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// A real gateway on 127.0.0.1:0 with its admin token, servers on one real upstream, and an OAuth client driver: what the
/// authorization-server tests sign in to.
/// </summary>
internal sealed class IdentityWorld(GatewayHarness gateway, TestUpstream upstream) : IAsyncDisposable
{
    public GatewayHarness Gateway { get; } = gateway;

    public OAuthClientDriver Driver { get; } = new(gateway);

    /// <summary>Starts the gateway and registers each of <paramref name="servers"/> on one stateful upstream.</summary>
    public static async Task<IdentityWorld> StartAsync(params string[] servers)
    {
        var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        var gateway = await GatewayHarness.StartAsync();
        await AdminCredentials.EnsureAsync(new GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        foreach (var server in servers)
        {
            await gateway.AddServerAsync(server, upstream.McpUri);
        }

        return new IdentityWorld(gateway, upstream);
    }

    public async ValueTask DisposeAsync()
    {
        Driver.Dispose();
        await Gateway.DisposeAsync();
        await upstream.DisposeAsync();
    }
}
