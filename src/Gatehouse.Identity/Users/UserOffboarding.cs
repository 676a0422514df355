using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace Gatehouse.Identity.Users;

/// <summary>What offboarding a user cut: counts and names, never a secret.</summary>
/// <param name="UserId">The user.</param>
/// <param name="Name">The user's display name.</param>
/// <param name="DisabledAt">When the user was disabled (the earlier time when already disabled).</param>
/// <param name="Grants">Labels of the grants revoked now.</param>
/// <param name="Tokens">Gatehouse-issued access and refresh tokens revoked.</param>
/// <param name="Authorizations">Remembered consents (OpenIddict authorizations) revoked.</param>
/// <param name="UpstreamConnections">Upstream connections revoked at the provider and cleared from the vault, one line each.</param>
public sealed record OffboardingReport(
    Guid UserId, string Name, DateTimeOffset DisabledAt, IReadOnlyList<string> Grants, long Tokens, long Authorizations, IReadOnlyList<string> UpstreamConnections);

/// <summary>
/// <c>gatehouse user offboard</c>: disables a user and cuts every credential they hold, in one action with one audit entry.
/// </summary>
/// <remarks>
/// The user is disabled first, with a configuration revision bump, before anything else: no new token or session can be
/// obtained while the rest is being revoked, and every gateway refuses the user's still-valid access tokens on the next
/// request (see <c>GatewaySnapshot.DisabledUsers</c>). The audit entry is written with the last step. Upstream connections
/// are revoked at their providers (RFC 7009) by <paramref name="disconnectUpstreams"/> before their tokens leave the vault.
/// </remarks>
/// <param name="db">The database (the OpenIddict stores share it).</param>
/// <param name="tokens">OpenIddict's token manager.</param>
/// <param name="authorizations">OpenIddict's authorization manager.</param>
/// <param name="time">The clock.</param>
/// <param name="onChanged">Signals running gateways that the configuration changed.</param>
/// <param name="disconnectUpstreams">Revokes and clears every upstream connection the user owns; returns one line per connection.</param>
public sealed class UserOffboarding(
    GatehouseDbContext db, IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, TimeProvider time, Action onChanged,
    Func<Guid, CancellationToken, Task<IReadOnlyList<string>>> disconnectUpstreams)
{
    /// <summary>Offboards <paramref name="user"/> (tracked by the database context given).</summary>
    public async Task<OffboardingReport> OffboardAsync(UserRecord user, string actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        user.DisabledAt ??= now;
        // In force at once, before anything else is cut: gateways reload and refuse the user's access tokens, and sign-in
        // sessions end because every sign-in and authorization request checks DisabledAt.
        await ConfigurationCommit.SaveUnauditedAsync(db, onChanged, ct);

        var grants = await db.Grants.Where(g => g.OwnerUserId == user.Id && g.RevokedAt == null).ToListAsync(ct);
        foreach (var grant in grants)
        {
            grant.RevokedAt = now;
        }

        var subject = user.Id.ToString();
        var tokenCount = await tokens.RevokeBySubjectAsync(subject, ct);
        var authorizationCount = await authorizations.RevokeBySubjectAsync(subject, ct);
        var upstream = await disconnectUpstreams(user.Id, ct);

        var report = new OffboardingReport(user.Id, user.DisplayName, user.DisabledAt.Value, grants.Select(g => g.Label).Order(StringComparer.Ordinal).ToList(),
            tokenCount, authorizationCount, upstream);
        await ConfigurationCommit.SaveAsync(db, time, onChanged, actor, "user.offboard", $"user:{user.Id:N} ({user.DisplayName})", Describe(report), ct);
        return report;
    }

    /// <summary>The audit entry's details.</summary>
    public static string Describe(OffboardingReport report) =>
        $"disabled at {report.DisabledAt:O}; grants revoked {report.Grants.Count}" + (report.Grants.Count > 0 ? $" ({string.Join(", ", report.Grants)})" : "")
        + $"; gatehouse tokens revoked {report.Tokens}; consents revoked {report.Authorizations}; upstream connections revoked {report.UpstreamConnections.Count}"
        + (report.UpstreamConnections.Count > 0 ? $" ({string.Join("; ", report.UpstreamConnections)})" : "")
        + "; sign-in sessions ended";
}
