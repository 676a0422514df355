namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>How to authorize with one upstream MCP server: its resource identifier and its authorization server.</summary>
/// <param name="McpServerUrl">The MCP endpoint discovery started from.</param>
/// <param name="Resource">
/// The resource indicator (RFC 8707) to send on authorization, token and refresh requests: the protected-resource
/// metadata's <c>resource</c>, else the canonical MCP URL (lowercase scheme and host, no fragment).
/// </param>
/// <param name="ResourceMetadata">The protected-resource metadata, when the server publishes it.</param>
/// <param name="ResourceMetadataUrl">Where <paramref name="ResourceMetadata"/> was found.</param>
/// <param name="AuthorizationServer">The authorization server's metadata (synthesized for a 2025-03-26 server without any).</param>
/// <param name="Issuer">The issuer identifier registrations and connections are keyed by, and <c>iss</c> is checked against.</param>
/// <param name="Challenge">The Bearer challenge of the unauthenticated probe, if any.</param>
/// <param name="IsLegacyFallback">
/// True when the server publishes no protected-resource metadata, so the 2025-03-26 rules applied: the authorization
/// server is the MCP server's origin (its metadata, or the default <c>/authorize</c>, <c>/token</c>, <c>/register</c>).
/// </param>
public sealed record DiscoveryResult(
    Uri McpServerUrl,
    string Resource,
    ProtectedResourceMetadata? ResourceMetadata,
    Uri? ResourceMetadataUrl,
    AuthorizationServerMetadata AuthorizationServer,
    string Issuer,
    WwwAuthenticateChallenge? Challenge,
    bool IsLegacyFallback)
{
    /// <summary>The scope that asks the authorization server for a refresh token (OpenID Connect, SEP-2207).</summary>
    public const string OfflineAccessScope = "offline_access";

    /// <summary>Where the authorization server metadata was found; null when it was synthesized from the 2025-03-26 defaults.</summary>
    public Uri? AuthorizationServerMetadataUrl { get; init; }

    /// <summary>True when the authorization server metadata was synthesized from the 2025-03-26 default endpoints.</summary>
    public bool IsSynthesizedMetadata => IsLegacyFallback && AuthorizationServerMetadataUrl is null;

    /// <summary>
    /// True when the authorization server advertises PKCE <c>S256</c>, or is a 2025-03-26 server that does not list
    /// methods at all (that revision made PKCE mandatory, so it is assumed).
    /// </summary>
    public bool SupportsPkceS256 =>
        AuthorizationServer.CodeChallengeMethodsSupported is { } methods
            ? methods.Contains("S256", StringComparer.Ordinal)
            : IsLegacyFallback;

    /// <summary>The <c>scope</c> to request, or null to omit the parameter.</summary>
    /// <param name="configuredScopes">Scopes the admin configured; they take priority.</param>
    /// <param name="wantsRefreshToken">
    /// Add <c>offline_access</c> when the authorization server lists it in <c>scopes_supported</c> (never otherwise).
    /// </param>
    /// <remarks>
    /// Order of the MCP scope selection strategy: the admin's scopes, else the challenge's <c>scope</c>, else every
    /// scope of the protected-resource metadata's <c>scopes_supported</c>, else none.
    /// </remarks>
    public string? SelectScopes(string? configuredScopes = null, bool wantsRefreshToken = true)
    {
        var scopes = Normalize(configuredScopes)
            ?? Normalize(Challenge?.Scope)
            ?? (ResourceMetadata?.ScopesSupported is { Count: > 0 } supported ? Normalize(string.Join(' ', supported)) : null);

        if (wantsRefreshToken && AuthorizationServer.ScopesSupported?.Contains(OfflineAccessScope, StringComparer.Ordinal) == true)
        {
            if (scopes is null)
            {
                return OfflineAccessScope;
            }

            if (!scopes.Split(' ').Contains(OfflineAccessScope, StringComparer.Ordinal))
            {
                return scopes + " " + OfflineAccessScope;
            }
        }

        return scopes;
    }

    /// <summary>Space-separated, without duplicates or empty entries, in the order given; null when empty.</summary>
    private static string? Normalize(string? scopes)
    {
        if (string.IsNullOrWhiteSpace(scopes))
        {
            return null;
        }

        var distinct = scopes.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal);
        return string.Join(' ', distinct);
    }
}
