using System.Net;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>The one connection pool Gatehouse uses toward upstreams.</summary>
/// <remarks>
/// A raw <see cref="HttpMessageInvoker"/> over <see cref="SocketsHttpHandler"/>, as reverse proxies use: no cookies,
/// no redirects (an upstream redirect must not carry injected credentials elsewhere), no decompression, no system proxy.
/// </remarks>
public sealed class UpstreamClient : IDisposable
{
    /// <summary>Creates the pool.</summary>
    public UpstreamClient(IOptions<ProxyOptions> options)
    {
        Invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = options.Value.UpstreamConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = null,
        });
    }

    /// <summary>The invoker.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <inheritdoc />
    public void Dispose() => Invoker.Dispose();
}
