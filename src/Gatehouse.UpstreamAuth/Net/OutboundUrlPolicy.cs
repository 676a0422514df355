namespace Gatehouse.UpstreamAuth.Net;

/// <summary>Which targets Gatehouse may fetch when it follows a URL an upstream or its authorization server told it about.</summary>
/// <param name="AllowLoopback">
/// True permits loopback targets (127.0.0.0/8, ::1, <c>localhost</c>) over http or https, for test setups where the
/// upstream and its authorization server run on the same machine. Every other address must be public and reached over https.
/// </param>
/// <remarks>
/// Private, link-local (including the 169.254.169.254 cloud metadata address), shared (CGNAT), unspecified, multicast,
/// broadcast and reserved addresses are always refused, as are URLs that carry credentials and schemes other than http(s).
/// </remarks>
public sealed record OutboundUrlPolicy(bool AllowLoopback)
{
    /// <summary>Public https targets only: the policy for production.</summary>
    public static OutboundUrlPolicy PublicOnly { get; } = new(false);

    /// <summary>Public https targets and loopback over http or https: the policy for tests and local setups.</summary>
    public static OutboundUrlPolicy WithLoopback { get; } = new(true);

    /// <summary>
    /// True only for the URL an admin configured for an upstream, which the proxy already talks to wherever it is:
    /// any address, http or https, still no credentials in the URL. Never set for URLs learnt from the network.
    /// </summary>
    internal bool AdminConfiguredTarget { get; init; }

    /// <summary>The policy for requests to an admin-configured upstream URL.</summary>
    internal static OutboundUrlPolicy AdminConfigured { get; } = new(true) { AdminConfiguredTarget = true };
}
