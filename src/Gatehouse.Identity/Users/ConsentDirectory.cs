using Gatehouse.Identity.Server;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Users;

/// <summary>One remembered approval: a user let a client use one server through Gatehouse.</summary>
/// <param name="Id">The approval's id (an OpenIddict authorization).</param>
/// <param name="UserId">The user who approved.</param>
/// <param name="User">Their display name.</param>
/// <param name="ClientId">The client's id (a registration id or a metadata-document URL).</param>
/// <param name="Client">The client's display name.</param>
/// <param name="Server">The Gatehouse server the approval covers.</param>
/// <param name="Scopes">The scopes approved.</param>
/// <param name="ApprovedAt">When.</param>
public sealed record ConsentView(
    string Id, Guid UserId, string User, string ClientId, string Client, string Server, IReadOnlyList<string> Scopes, DateTimeOffset? ApprovedAt);

/// <summary>
/// Lists and withdraws remembered consents. Withdrawing one revokes the approval and every token issued under it, so the
/// client's refresh token stops working at once and the next sign-in asks the person again.
/// </summary>
/// <param name="db">The database (the OpenIddict stores share it).</param>
/// <param name="authorizations">OpenIddict's authorizations (remembered consents).</param>
/// <param name="applications">OpenIddict's applications (registered clients).</param>
/// <param name="tokens">OpenIddict's tokens.</param>
/// <param name="time">The clock.</param>
public sealed class ConsentDirectory(
    GatehouseDbContext db, IOpenIddictAuthorizationManager authorizations, IOpenIddictApplicationManager applications, IOpenIddictTokenManager tokens, TimeProvider time)
{
    /// <summary>Valid consents, newest first; of one user, or of everyone.</summary>
    public async Task<IReadOnlyList<ConsentView>> ListAsync(Guid? userId, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().ToDictionaryAsync(u => u.Id.ToString(), u => u, ct);
        var found = new List<ConsentView>();
        var source = userId is { } id ? authorizations.FindBySubjectAsync(id.ToString(), ct) : authorizations.ListAsync(count: null, offset: null, ct);
        await foreach (var authorization in source)
        {
            if (await ViewAsync(authorization, users, ct) is { } view)
            {
                found.Add(view);
            }
        }

        return found.OrderByDescending(c => c.ApprovedAt).ThenBy(c => c.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Withdraws a consent and revokes the tokens issued under it; with <paramref name="ownedBy"/>, only that user's
    /// (a person withdrawing their own). Null when there is no such valid consent.
    /// </summary>
    public async Task<ConsentView?> RevokeAsync(string id, Guid? ownedBy, string actor, CancellationToken ct)
    {
        var authorization = await authorizations.FindByIdAsync(id, ct);
        var users = await db.Users.AsNoTracking().ToDictionaryAsync(u => u.Id.ToString(), u => u, ct);
        if (authorization is null || await ViewAsync(authorization, users, ct) is not { } view || (ownedBy is { } owner && view.UserId != owner))
        {
            return null;
        }

        await authorizations.TryRevokeAsync(authorization, ct);
        var revokedTokens = await tokens.RevokeByAuthorizationIdAsync(id, ct);
        db.AuditEvents.Add(new AuditEventRecord
        {
            At = time.GetUtcNow(), Actor = actor, Action = "client.consent.revoke", Target = $"client:{view.ClientId}",
            Details = $"user {view.UserId:N} ({view.User}); server {view.Server}; tokens revoked {revokedTokens}",
        });
        await db.SaveChangesAsync(ct);
        return view;
    }

    private async Task<ConsentView?> ViewAsync(object authorization, Dictionary<string, UserRecord> users, CancellationToken ct)
    {
        if (!await authorizations.HasStatusAsync(authorization, Statuses.Valid, ct) || !await authorizations.HasTypeAsync(authorization, AuthorizationTypes.Permanent, ct))
        {
            return null;
        }

        var subject = await authorizations.GetSubjectAsync(authorization, ct);
        var scopes = await authorizations.GetScopesAsync(authorization, ct);
        var server = scopes.FirstOrDefault(s => s.StartsWith(ResourceIndicators.ServerConsentPrefix, StringComparison.Ordinal));
        if (subject is null || server is null || !users.TryGetValue(subject, out var user))
        {
            return null;
        }

        var applicationId = await authorizations.GetApplicationIdAsync(authorization, ct);
        var application = applicationId is null ? null : await applications.FindByIdAsync(applicationId, ct);
        var clientId = application is null ? "(deleted client)" : await applications.GetClientIdAsync(application, ct) ?? "(unknown)";
        var client = application is null ? clientId : await applications.GetDisplayNameAsync(application, ct) ?? clientId;
        return new ConsentView(
            (await authorizations.GetIdAsync(authorization, ct))!, user.Id, user.DisplayName, clientId, client,
            server[ResourceIndicators.ServerConsentPrefix.Length..], scopes.Where(s => s != server).Order(StringComparer.Ordinal).ToList(),
            await authorizations.GetCreationDateAsync(authorization, ct));
    }
}
