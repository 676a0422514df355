using Gatehouse.Proxy;
using Gatehouse.Storage;
using Gatehouse.UpstreamAuth.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Gatehouse.Host.Hosting;

/// <summary>
/// Once the gateway listens, records its public URL (<c>--public-url</c>, else the first listening address) for the
/// OAuth client: redirect URIs and connect links printed by the CLI, another process, must reach this gateway.
/// </summary>
internal sealed class GatewayAddressRecorder(
    IServer server, IOptions<ProxyOptions> proxy, UpstreamAuthServices upstreamAuth, GatehouseStorage storage, TimeProvider time, ServeSettings settings)
    : IHostedLifecycleService
{
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var url = proxy.Value.PublicUrl ?? ListeningUrl();
        if (url is null)
        {
            return;
        }

        upstreamAuth.PublicBaseUrl = url;
        upstreamAuth.ClientMetadataUrl = settings.ClientMetadataUrl;
        await using var db = storage.CreateContext();
        await GatewayAddress.SaveAsync(db, url, settings.ClientMetadataUrl, time.GetUtcNow(), cancellationToken);
    }

    private Uri? ListeningUrl()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null || !Uri.TryCreate(address.Replace("://+:", "://localhost:", StringComparison.Ordinal).Replace("://*:", "://localhost:", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return null;
        }

        // A wildcard bind is not an address a browser can open.
        return uri.Host is "0.0.0.0" or "[::]" or "::" ? new UriBuilder(uri) { Host = "localhost" }.Uri : uri;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
