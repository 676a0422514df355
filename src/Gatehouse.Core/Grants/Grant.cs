namespace Gatehouse.Core.Grants;

/// <summary>A labelled bearer credential for one client or automation, scoped to one or more servers.</summary>
/// <remarks>Only the SHA-256 hash of the token is ever stored; the token itself is shown once when created or rotated.</remarks>
public sealed record Grant
{
    /// <summary>Stable identifier; sessions are bound to it, so they survive a rotation of the token.</summary>
    public required Guid Id { get; init; }

    /// <summary>Human label, unique among grants (e.g. <c>alice-laptop</c>).</summary>
    public required string Label { get; init; }

    /// <summary>Names of the servers this grant may reach.</summary>
    public required IReadOnlySet<string> Servers { get; init; }

    /// <summary>SHA-256 of the current token (see <see cref="GrantToken.Hash"/>).</summary>
    public required string TokenHash { get; init; }

    /// <summary>When the grant was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the grant stops working, if ever.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the grant was revoked, if it was.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>The name of the policy attached to the grant (overriding the server's), if any.</summary>
    public string? PolicyName { get; init; }

    /// <summary>The user who owns the grant; null for an organisation grant.</summary>
    public Guid? OwnerUserId { get; init; }

    /// <summary>When the current token was issued (creation or last rotation).</summary>
    public DateTimeOffset? RotatedAt { get; init; }

    /// <summary>The grant's status at <paramref name="now"/>.</summary>
    public GrantStatus StatusAt(DateTimeOffset now) =>
        RevokedAt is not null ? GrantStatus.Revoked
        : ExpiresAt is { } expires && expires <= now ? GrantStatus.Expired
        : GrantStatus.Active;
}

/// <summary>Whether a grant can be used.</summary>
public enum GrantStatus
{
    /// <summary>Usable.</summary>
    Active,

    /// <summary>Past its expiry.</summary>
    Expired,

    /// <summary>Revoked by an admin.</summary>
    Revoked,
}
