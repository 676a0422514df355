namespace Gatehouse.Proxy;

/// <summary>Limits and security settings of the proxy.</summary>
public sealed class ProxyOptions
{
    /// <summary>Largest request body accepted, in bytes (default 4 MiB).</summary>
    public long MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest non-streamed (JSON) upstream response relayed, and largest SSE event read whole, in bytes (default 32 MiB).</summary>
    public long MaxResponseBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>How long to wait for an upstream to start answering (default 120 s).</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long to wait for a TCP connection to an upstream (default 10 s).</summary>
    public TimeSpan UpstreamConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a session id stays valid after it was issued (default 24 h).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a session bridged to an HTTP+SSE upstream may stay idle before its upstream stream is closed (default 30 min).</summary>
    public TimeSpan BridgeIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Most GET streams (Streamable HTTP or HTTP+SSE) one principal may hold open in this process (default 16); beyond it, 429 (GH1801).</summary>
    public int MaxOpenStreamsPerPrincipal { get; set; } = 16;

    /// <summary>Most sessions bridged to HTTP+SSE upstreams one principal may hold open in this process (default 8); beyond it, 429 (GH1802).</summary>
    public int MaxBridgedSessionsPerPrincipal { get; set; } = 8;

    /// <summary>Most messages of one bridged HTTP+SSE client session being forwarded at once (default 64); beyond it, 429 (GH1803).</summary>
    public int MaxBridgedMessagesInFlight { get; set; } = 64;

    /// <summary>The URL clients use to reach Gatehouse, when it differs from what requests show (behind a reverse proxy).</summary>
    public Uri? PublicUrl { get; set; }

    /// <summary>Extra host names accepted in the Host header, beyond loopback names and <see cref="PublicUrl"/>'s host.</summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>Extra origins (scheme://host[:port]) accepted in the Origin header.</summary>
    public IList<string> AllowedOrigins { get; } = [];
}
