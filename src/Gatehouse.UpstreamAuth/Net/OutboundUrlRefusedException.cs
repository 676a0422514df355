namespace Gatehouse.UpstreamAuth.Net;

/// <summary>Why the outbound URL guard refused a target.</summary>
public enum OutboundUrlRefusal
{
    /// <summary>The URL is not absolute or its scheme is not http or https.</summary>
    UnsupportedScheme,

    /// <summary>Plain http to a non-loopback target, or to loopback while loopback is not allowed.</summary>
    HttpsRequired,

    /// <summary>The URL carries a user name or password.</summary>
    Credentials,

    /// <summary>A loopback address (127.0.0.0/8, ::1, <c>localhost</c>) while loopback is not allowed.</summary>
    Loopback,

    /// <summary>A private address (10/8, 172.16/12, 192.168/16, fc00::/7, the local-use NAT64 prefix 64:ff9b:1::/48).</summary>
    PrivateAddress,

    /// <summary>A link-local address (169.254/16 with the cloud metadata service, fe80::/10).</summary>
    LinkLocal,

    /// <summary>The carrier-grade NAT range 100.64/10.</summary>
    SharedAddress,

    /// <summary>The unspecified address (0.0.0.0/8, ::).</summary>
    Unspecified,

    /// <summary>A multicast address (224/4, ff00::/8).</summary>
    Multicast,

    /// <summary>The broadcast address 255.255.255.255.</summary>
    Broadcast,

    /// <summary>Reserved space that never holds a public server (240/4, 198.18/15 benchmarking, the documentation ranges, fec0::/10).</summary>
    Reserved,
}

/// <summary>
/// The outbound URL guard refused to contact a URL. The message names the URL (without its query string), says why
/// and what to do; it never contains request headers or bodies.
/// </summary>
public sealed class OutboundUrlRefusedException : Exception
{
    internal OutboundUrlRefusedException(string url, OutboundUrlRefusal reason, string why)
        : base($"Gatehouse refused to contact {url}: {why}. {Advice(reason)}")
    {
        Url = url;
        Reason = reason;
    }

    /// <summary>The refused URL without query string, fragment or credentials.</summary>
    public string Url { get; }

    internal OutboundUrlRefusedException(string url, OutboundUrlRefusal reason, string why, string publicWhy)
        : this(url, reason, why)
    {
        _publicMessage = $"Gatehouse refused to contact {url}: {publicWhy}. {Advice(reason)}";
    }

    /// <summary>
    /// The message without what a host name resolved to: for callers who have not authenticated (a client_id URL
    /// at <c>/oauth2/authorize</c>), who must not learn addresses inside the gateway's network. Log <see cref="Exception.Message"/>.
    /// </summary>
    public string PublicMessage => _publicMessage ?? Message;

    private readonly string? _publicMessage;

    /// <summary>Why it was refused.</summary>
    public OutboundUrlRefusal Reason { get; }

    /// <summary>
    /// The <see cref="PublicMessage"/> of a refusal anywhere in <paramref name="exception"/>'s chain (libraries such as the
    /// OpenID Connect handler wrap it); null when the guard did not refuse.
    /// </summary>
    public static string? FindPublicMessage(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is OutboundUrlRefusedException refusal)
            {
                return refusal.PublicMessage;
            }
        }

        return null;
    }

    /// <summary>The URL as it may appear in messages and logs: scheme, host, port and path only.</summary>
    internal static string Describe(Uri url) =>
        url.IsAbsoluteUri ? url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(a relative URL)";

    private static string Advice(OutboundUrlRefusal reason) => reason switch
    {
        OutboundUrlRefusal.Credentials =>
            "Credentials never travel in URLs; Gatehouse authenticates to authorization servers with its registered client.",
        OutboundUrlRefusal.UnsupportedScheme =>
            "Gatehouse only fetches authorization metadata and endpoints over HTTPS.",
        _ =>
            "Gatehouse only fetches authorization metadata and endpoints from public HTTPS addresses; " +
            "for a loopback test setup enable allow-loopback on the server.",
    };
}
