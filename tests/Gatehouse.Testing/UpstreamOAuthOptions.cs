namespace Gatehouse.Testing;

/// <summary>
/// How a <see cref="UpstreamMode.OAuthProtected"/> upstream checks the bearer tokens it receives: JWT access
/// tokens issued by <see cref="Issuer"/>, signed with a key from its JWKS, unexpired, and addressed to this
/// upstream's own resource URL.
/// </summary>
public sealed record UpstreamOAuthOptions
{
    /// <summary>The default of <see cref="ScopesSupported"/>: the scopes <c>tests/e2e/oauth/provider.mjs</c> offers by default.</summary>
    public static readonly IReadOnlyList<string> DefaultScopesSupported = ["mcp:tools", "mcp:admin"];

    /// <summary>
    /// The authorization server, e.g. <c>http://127.0.0.1:PORT</c>. Its signing keys are discovered through
    /// <c>{issuer}/.well-known/openid-configuration</c> (plain http is allowed: tests run on loopback), and a
    /// token's <c>iss</c> must equal <see cref="IssuerIdentifier"/>.
    /// </summary>
    public required Uri Issuer { get; init; }

    /// <summary>
    /// A scope that <c>tools/call</c> requests need. A valid token without it is answered with 403 and
    /// <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"</c>; the 401
    /// challenge then also names it. <see langword="null"/> (the default) requires no scope.
    /// </summary>
    public string? RequiredScope { get; init; }

    /// <summary>
    /// The audience tokens must carry and the <c>resource</c> of the protected-resource metadata.
    /// <see langword="null"/> (the default) means the upstream's own <see cref="TestUpstream.McpUri"/>, which is what a
    /// gateway configured with that URL asks the authorization server for.
    /// </summary>
    public Uri? Audience { get; init; }

    /// <summary>The <c>scopes_supported</c> advertised in the protected-resource metadata.</summary>
    public IReadOnlyList<string> ScopesSupported { get; init; } = DefaultScopesSupported;

    /// <summary>
    /// <see cref="Issuer"/> as an OAuth issuer identifier: <see cref="Uri"/> always shows a root path as
    /// <c>/</c>, but oidc-provider (like most servers) names itself without the trailing slash.
    /// </summary>
    public string IssuerIdentifier =>
        Issuer.AbsolutePath == "/" && string.IsNullOrEmpty(Issuer.Query)
            ? Issuer.GetLeftPart(UriPartial.Authority)
            : Issuer.AbsoluteUri;
}
