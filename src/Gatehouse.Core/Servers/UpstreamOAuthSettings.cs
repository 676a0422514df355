namespace Gatehouse.Core.Servers;

/// <summary>How Gatehouse obtains tokens for an <see cref="UpstreamAuthMode.OAuth"/> server.</summary>
public enum UpstreamOAuthGrant
{
    /// <summary>Authorization code with PKCE: a person approves once in a browser (<c>server connect</c>).</summary>
    AuthorizationCode,

    /// <summary>Client credentials: headless, for upstreams that accept a service client (needs pre-registered credentials).</summary>
    ClientCredentials,
}

/// <summary>The admin's OAuth settings for one upstream; everything else is discovered from the upstream.</summary>
public sealed record UpstreamOAuthSettings
{
    /// <summary>The grant used to connect.</summary>
    public UpstreamOAuthGrant Grant { get; init; } = UpstreamOAuthGrant.AuthorizationCode;

    /// <summary>A pre-registered client id (takes priority over CIMD and dynamic registration).</summary>
    public string? ClientId { get; init; }

    /// <summary>The pre-registered client secret, sealed by the vault.</summary>
    public string? ProtectedClientSecret { get; init; }

    /// <summary>A PEM private key for <c>private_key_jwt</c>, sealed by the vault.</summary>
    public string? ProtectedPrivateKey { get; init; }

    /// <summary>The <c>kid</c> to put in client assertions signed with <see cref="ProtectedPrivateKey"/>.</summary>
    public string? PrivateKeyId { get; init; }

    /// <summary>Token endpoint authentication for the pre-registered client (<c>client_secret_basic</c>, <c>client_secret_post</c>, <c>private_key_jwt</c>, <c>none</c>); chosen from the key material when null.</summary>
    public string? TokenEndpointAuthMethod { get; init; }

    /// <summary>Scopes to request, space-separated; when null they come from the challenge or the metadata.</summary>
    public string? Scopes { get; init; }

    /// <summary>Permit discovery, registration and token requests to loopback addresses over plain HTTP (tests, local development).</summary>
    public bool AllowLoopback { get; init; }

    /// <summary>Proceed although the authorization server does not advertise PKCE S256 (some providers omit it but support it).</summary>
    public bool AssumePkce { get; init; }

    /// <summary>Who owns the tokens: the server (one shared connection) or each user (arrives with Gatehouse's own sign-in).</summary>
    public bool PerUser { get; init; }
}
