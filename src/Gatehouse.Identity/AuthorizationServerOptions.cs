namespace Gatehouse.Identity;

/// <summary>Settings of Gatehouse's authorization server (the OAuth 2.1 server MCP clients sign in to).</summary>
public sealed class AuthorizationServerOptions
{
    /// <summary>Lifetime of access tokens. Short, because the proxy validates them locally and cannot see a revocation.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Lifetime of each refresh token (they rotate on every use).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long a redeemed refresh token may still be used without being treated as stolen. Zero by default: any reuse
    /// revokes the whole authorization (every token of the family), as OAuth 2.1 asks for public clients.
    /// </summary>
    public TimeSpan RefreshTokenReuseLeeway { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Custom URI schemes a dynamically registered client may use for its redirect URI (native apps such as Cursor),
    /// besides https and http on a loopback host.
    /// </summary>
    public ISet<string> AllowedRedirectSchemes { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "cursor", "vscode", "vscode-insiders" };

    /// <summary>
    /// True when Gatehouse is reached over https: cookies then get the <c>__Host-</c> prefix and the Secure flag.
    /// </summary>
    public bool SecureCookies { get; set; }

    /// <summary>
    /// Creates the HTTP handler for requests to the organisation's identity provider (discovery, keys, token, userinfo);
    /// its argument says whether plain http on loopback is allowed. The host supplies the same outbound guard as for
    /// upstream authorization servers; the framework's default handler when null.
    /// </summary>
    public Func<bool, HttpMessageHandler>? OrganisationBackchannel { get; set; }

    /// <summary>Most dynamic client registrations one IP address may make per <see cref="RegistrationWindow"/> (default 20); beyond it, 429.</summary>
    public int RegistrationsPerWindow { get; set; } = 20;

    /// <summary>The window of <see cref="RegistrationsPerWindow"/> (default 1 hour).</summary>
    public TimeSpan RegistrationWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a dynamically registered or metadata document client may stay without any authorization or token before
    /// it is removed (default 30 days).
    /// </summary>
    public TimeSpan UnusedClientRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often unused clients are looked for (default 1 hour).</summary>
    public TimeSpan UnusedClientPurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a browser sign-in on the login page lasts.</summary>
    public TimeSpan LoginSessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// Permits Client ID Metadata Documents on loopback hosts, over http too (<c>serve --allow-loopback-client-metadata</c>),
    /// for tests and local development. Off by default: documents then come only from public https addresses.
    /// </summary>
    public bool AllowLoopbackClientMetadata { get; set; }

    /// <summary>The clock that ages cached Client ID Metadata Documents; tests pass a fake one to expire them without waiting.</summary>
    public TimeProvider ClientMetadataClock { get; set; } = TimeProvider.System;
}
