namespace Gatehouse.Admin.Administration;

/// <summary>What the CLI and the admin API show of a server. Header values are never shown, only names.</summary>
public sealed record ServerView(
    Guid Id, string Name, string Url, string Transport, string Auth, IReadOnlyList<string> HeaderNames, bool Enabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, OAuthView? OAuth = null, ConnectionView? Connection = null, bool ForwardIdentityHeaders = false);

/// <summary>A server's OAuth settings as shown: whether secrets are set, never their values.</summary>
public sealed record OAuthView(string Grant, string? ClientId, bool HasClientSecret, bool HasPrivateKey, string? AuthMethod, string? Scopes, bool AllowLoopback, bool PerUser);

/// <summary>The state of a stored upstream connection (tokens are never shown).</summary>
public sealed record ConnectionView(
    string Status, string? Issuer, string? Scopes, string? ClientId, string? ClientSource, DateTimeOffset? AccessTokenExpiresAt,
    bool HasRefreshToken, DateTimeOffset? RefreshTokenExpiresAt, DateTimeOffset? ConnectedAt, DateTimeOffset? LastRefreshAt, string? LastError);

/// <summary>What the CLI and the admin API show of a grant. The token is never shown here.</summary>
public sealed record GrantView(
    Guid Id, string Label, IReadOnlyList<string> Servers, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RotatedAt, Guid? OwnerUserId = null);

/// <summary>A person who signs in to Gatehouse, as listed by <c>user list</c>.</summary>
public sealed record UserView(
    Guid Id, string Name, string Kind, string? Email, string Status, DateTimeOffset CreatedAt, DateTimeOffset? LastSignInAt, DateTimeOffset? DisabledAt,
    IReadOnlyList<string> Groups);

/// <summary>A grant just created or rotated, with its token: the only time the token is ever available.</summary>
public sealed record IssuedGrant(GrantView Grant, string Token);

/// <summary>What a server is to become (CLI, API and YAML all produce this).</summary>
/// <param name="Name">Slug.</param>
/// <param name="Url">Upstream URL.</param>
/// <param name="Transport">auto, streamable-http or sse.</param>
/// <param name="Headers">Header names and plaintext values to seal; empty means auth mode none.</param>
/// <param name="Enabled">Whether the server accepts requests.</param>
/// <param name="OAuth">OAuth settings (auth mode <c>oauth</c>), with plaintext secrets to seal.</param>
/// <param name="ForwardIdentityHeaders">Send the client's Forwarded / X-Forwarded-* / X-Real-IP headers upstream.</param>
public sealed record ServerSpec(
    string Name, string Url, string? Transport, IReadOnlyList<KeyValuePair<string, string>> Headers, bool Enabled = true, OAuthSpec? OAuth = null,
    bool ForwardIdentityHeaders = false);

/// <summary>The admin's OAuth settings for a server, secrets in plaintext until sealed.</summary>
/// <param name="Grant"><c>authorization_code</c> (default) or <c>client_credentials</c>.</param>
/// <param name="ClientId">Pre-registered client id, if any.</param>
/// <param name="ClientSecret">Pre-registered client secret, if any.</param>
/// <param name="PrivateKeyPem">PEM private key for <c>private_key_jwt</c>, if any.</param>
/// <param name="PrivateKeyId">The key's <c>kid</c>.</param>
/// <param name="AuthMethod">Token endpoint authentication of the pre-registered client.</param>
/// <param name="Scopes">Scopes to request (space-separated); discovered when null.</param>
/// <param name="AllowLoopback">Permit loopback/HTTP authorization URLs (tests, local development).</param>
/// <param name="AssumePkce">Proceed when the authorization server does not advertise S256.</param>
/// <param name="PerUser">Each signed-in user connects their own upstream account instead of one shared connection.</param>
public sealed record OAuthSpec(
    string? Grant = null, string? ClientId = null, string? ClientSecret = null, string? PrivateKeyPem = null, string? PrivateKeyId = null,
    string? AuthMethod = null, string? Scopes = null, bool AllowLoopback = false, bool AssumePkce = false, bool PerUser = false);

/// <summary>What <c>apply</c> did to each object.</summary>
public sealed record ApplyReport(IReadOnlyList<ApplyChange> Changes)
{
    /// <summary>True when nothing changed (the file was already applied).</summary>
    public bool Unchanged => Changes.All(c => c.Action == "unchanged");
}

/// <summary>One object touched by <c>apply</c>.</summary>
public sealed record ApplyChange(string Kind, string Name, string Action);
