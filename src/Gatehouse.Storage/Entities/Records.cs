namespace Gatehouse.Storage.Entities;

#pragma warning disable CS1591 // Persistence records mirror the domain types, which carry the documentation.

/// <summary>A registered upstream server.</summary>
public sealed class ServerRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Url { get; set; }
    public required string Transport { get; set; }
    public required string AuthMode { get; set; }

    /// <summary>JSON array of {name, value} where each value is sealed by the vault.</summary>
    public string HeadersJson { get; set; } = "[]";
    public bool Enabled { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The policy applied to this server's requests (by name), if any.</summary>
    public string? PolicyName { get; set; }

    /// <summary>JSON of the OAuth settings (secrets inside sealed by the vault) when the auth mode is <c>oauth</c>.</summary>
    public string? OAuthJson { get; set; }

    /// <summary>Whether the client's Forwarded / X-Forwarded-* / X-Real-IP headers go upstream.</summary>
    public bool ForwardIdentityHeaders { get; set; }
}

/// <summary>A grant; the token itself is never stored, only its SHA-256.</summary>
public sealed class GrantRecord
{
    public Guid Id { get; set; }
    public required string Label { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public List<GrantServerRecord> Servers { get; set; } = [];

    /// <summary>The policy applied to this grant's requests (by name), if any.</summary>
    public string? PolicyName { get; set; }

    /// <summary>The user who owns the grant; null for an organisation grant.</summary>
    public Guid? OwnerUserId { get; set; }
}

/// <summary>One server a grant covers (by name: names never change).</summary>
public sealed class GrantServerRecord
{
    public Guid GrantId { get; set; }
    public required string ServerName { get; set; }
}

/// <summary>A data key, stored only wrapped (encrypted) by the master key.</summary>
public sealed class DataKeyRecord
{
    public required string Id { get; set; }

    /// <summary>nonce | ciphertext | tag of the 256-bit data key under the master key.</summary>
    public required byte[] WrappedKey { get; set; }

    /// <summary>Fingerprint of the master key that wrapped it, so a wrong master key is reported as such.</summary>
    public required string MasterKeyId { get; set; }
    public bool Active { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The admin API credential (hash only).</summary>
public sealed class AdminCredentialRecord
{
    public Guid Id { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A single row whose number grows with every configuration change, so gateways know to reload.</summary>
public sealed class ConfigRevisionRecord
{
    public int Id { get; set; }
    public long Revision { get; set; }
}

/// <summary>One admin change: who did what to which object, and when.</summary>
public sealed class AuditEventRecord
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public required string Target { get; set; }
    public string? Details { get; set; }
}

/// <summary>A named policy; <see cref="Document"/> is the source text as the operator wrote it.</summary>
public sealed class PolicyRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public int Version { get; set; }
    public required string Document { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One stored version of a policy, kept so a decision can be traced to the exact text that made it.</summary>
public sealed class PolicyVersionRecord
{
    public Guid PolicyId { get; set; }
    public int Version { get; set; }
    public required string Document { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public required string Actor { get; set; }
}

/// <summary>One stored decision (see <c>Gatehouse.Core.Decisions.DecisionRecord</c>); argument values only when opted in.</summary>
public sealed class DecisionLogRecord
{
    /// <summary>Grows with every insert, so it orders records and serves as the paging cursor.</summary>
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string RequestId { get; set; }
    public required string PrincipalId { get; set; }
    public required string PrincipalLabel { get; set; }
    public required string Server { get; set; }
    public required string Method { get; set; }
    public string? Target { get; set; }
    public required string Decision { get; set; }
    public string? Rule { get; set; }
    public string? PolicyVersion { get; set; }

    /// <summary>JSON array of the top-level argument keys.</summary>
    public string ArgumentKeysJson { get; set; } = "[]";
    public string? ArgumentValuesJson { get; set; }
    public int? UpstreamStatus { get; set; }
    public double LatencyMs { get; set; }
    public string? ErrorCode { get; set; }
    public string? Message { get; set; }
}

/// <summary>A client registration Gatehouse made at an upstream authorization server (CIMD or dynamic), keyed by issuer.</summary>
public sealed class OAuthClientRecord
{
    public Guid Id { get; set; }
    public required string Issuer { get; set; }

    /// <summary>The redirect URI registered; a changed public URL needs a new registration.</summary>
    public required string RedirectUri { get; set; }
    public required string ClientId { get; set; }
    public string? ClientSecretSealed { get; set; }
    public required string AuthMethod { get; set; }

    /// <summary><c>cimd</c> or <c>dcr</c>.</summary>
    public required string Source { get; set; }
    public string? RegistrationAccessTokenSealed { get; set; }
    public DateTimeOffset? ClientSecretExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Stored upstream OAuth tokens for one (server, owner), with their status; tokens sealed by the vault.</summary>
public sealed class UpstreamConnectionRecord
{
    public Guid Id { get; set; }
    public Guid ServerId { get; set; }
    public required string OwnerKind { get; set; }
    public required string OwnerId { get; set; }
    public required string Status { get; set; }
    public string? Issuer { get; set; }

    /// <summary>The authorization server's metadata as discovered at connect time (endpoints for refresh and revocation).</summary>
    public string? AuthorizationServerJson { get; set; }
    public string? ClientId { get; set; }

    /// <summary><c>pre-registered</c>, <c>cimd</c> or <c>dcr</c>.</summary>
    public string? ClientSource { get; set; }
    public string? GrantType { get; set; }
    public string? Resource { get; set; }

    /// <summary>Scopes the authorization server granted (space-separated).</summary>
    public string? Scopes { get; set; }

    /// <summary>Scopes the next authorization must request: what was asked plus any step-up challenge.</summary>
    public string? RequestedScopes { get; set; }
    public string? AccessTokenSealed { get; set; }
    public DateTimeOffset? AccessTokenExpiresAt { get; set; }
    public string? RefreshTokenSealed { get; set; }
    public DateTimeOffset? RefreshTokenExpiresAt { get; set; }
    public DateTimeOffset? ConnectedAt { get; set; }
    public string? ConnectedBy { get; set; }
    public DateTimeOffset? LastRefreshAt { get; set; }
    public string? LastError { get; set; }

    /// <summary>Token generations the upstream refused for lack of scopes they already carried; bounded.</summary>
    public int StepUpAttempts { get; set; }

    /// <summary>The <see cref="Version"/> last counted in <see cref="StepUpAttempts"/>, so each token generation counts once.</summary>
    public long StepUpVersion { get; set; }

    /// <summary>Grows on every token change, so a replica can tell whether someone else refreshed meanwhile.</summary>
    public long Version { get; set; }

    /// <summary>The replica refreshing right now (a lease, so one refresh runs at a time across replicas).</summary>
    public string? RefreshLeaseHolder { get; set; }
    public DateTimeOffset? RefreshLeaseUntil { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>An authorization started by <c>server connect</c> (or a connect page) and not yet completed; single use, short-lived.</summary>
public sealed class OAuthPendingFlowRecord
{
    /// <summary>SHA-256 (hex) of the flow token in the connect URL Gatehouse prints.</summary>
    public required string Id { get; set; }

    /// <summary>SHA-256 (hex) of the <c>state</c> sent to the authorization server.</summary>
    public required string StateHash { get; set; }
    public Guid ServerId { get; set; }
    public required string OwnerKind { get; set; }
    public required string OwnerId { get; set; }
    public required string Issuer { get; set; }
    public required string AuthorizationServerJson { get; set; }
    public required string ClientId { get; set; }
    public required string ClientSource { get; set; }
    public required string RedirectUri { get; set; }
    public string? Resource { get; set; }
    public string? Scopes { get; set; }
    public required string CodeVerifierSealed { get; set; }
    public required string AuthorizationUrlSealed { get; set; }
    public string? InitiatedBy { get; set; }

    /// <summary>
    /// A Gatehouse path the browser continues to after the callback (success or failure): the sign-in to Gatehouse that
    /// sent the person through this upstream consent first. Null for connects started from the CLI or a connect link.
    /// </summary>
    public string? ReturnPath { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? ConsumedAt { get; set; }
    public string? Outcome { get; set; }

    /// <summary>
    /// SHA-256 (hex) of the random value in the browser-binding cookie of the browser that started the flow (or first
    /// opened its connect link): the callback completes the flow only in that browser. Null until a browser claims it.
    /// </summary>
    public string? BrowserBindingHash { get; set; }
}

/// <summary>A gateway-wide setting shared by every process on the database (for example the public URL the CLI prints).</summary>
public sealed class GatewaySettingRecord
{
    public required string Key { get; set; }
    public required string Value { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A person who signs in to Gatehouse: the local bootstrap admin today, users of the organisation's identity provider later.</summary>
/// <remarks>Tokens Gatehouse issues carry <see cref="Id"/> as their subject, so nothing depends on how the user signed in.</remarks>
public sealed class UserRecord
{
    public Guid Id { get; set; }
    /// <summary><c>bootstrap-admin</c> (signs in with the admin token), <c>local</c> (one-time sign-in tokens from <c>gatehouse user add</c>) or <c>oidc</c>.</summary>
    public required string Kind { get; set; }
    /// <summary>The identity provider's issuer (OIDC users only).</summary>
    public string? Issuer { get; set; }
    /// <summary>The user's subject at that identity provider (OIDC users); for local users, the hash of their pending one-time sign-in token.</summary>
    public string? ExternalSubject { get; set; }
    public required string DisplayName { get; set; }
    public string? Email { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DisabledAt { get; set; }

    /// <summary>When the user last signed in on the login page.</summary>
    public DateTimeOffset? LastSignInAt { get; set; }

    /// <summary>
    /// JSON array of the user's groups, as the identity provider's groups claim said at their last sign-in (policies attach
    /// to groups); <c>[]</c> for local users.
    /// </summary>
    public string GroupsJson { get; set; } = "[]";

    /// <summary>The policy attached to this user (applies to every call they make, on every server), or null.</summary>
    public string? PolicyName { get; set; }
}

/// <summary>A policy attached to a group of the identity provider: it applies to every call of the group's members.</summary>
public sealed class GroupPolicyRecord
{
    /// <summary>The group's name exactly as the identity provider's groups claim carries it.</summary>
    public required string Group { get; set; }
    public required string PolicyName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// One ASP.NET Core data-protection key (the keys that protect login cookies and antiforgery tokens), as XML sealed by
/// the vault, so sessions survive restarts and every replica can read every other replica's cookies.
/// </summary>
public sealed class DataProtectionKeyRecord
{
    public int Id { get; set; }
    public string? FriendlyName { get; set; }
    public required string XmlSealed { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A key of Gatehouse's authorization server (token signing or token encryption), sealed by the vault.</summary>
public sealed class AuthorizationServerKeyRecord
{
    public required string Id { get; set; }
    /// <summary><c>signing</c> (RSA, PKCS#8) or <c>encryption</c> (256-bit symmetric).</summary>
    public required string Purpose { get; set; }
    public required string KeySealed { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
