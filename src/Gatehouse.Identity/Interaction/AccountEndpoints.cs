using Gatehouse.Core.Connections;
using Gatehouse.Identity.Users;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Identity.Interaction;

/// <summary>What the account page lists for the signed-in person.</summary>
/// <param name="User">The person.</param>
/// <param name="Groups">Their identity-provider groups.</param>
/// <param name="Consents">Clients they approved.</param>
/// <param name="Grants">Grant tokens they own.</param>
/// <param name="Connections">Their own upstream connections (per-user servers).</param>
internal sealed record AccountOverview(
    UserRecord User, IReadOnlyList<string> Groups, IReadOnlyList<ConsentView> Consents, IReadOnlyList<GrantRecord> Grants, IReadOnlyList<UserConnectionView> Connections);

/// <summary>
/// <c>/account</c>: the signed-in person's own view of what they have authorised, and the place to cut it: clients they
/// approved (withdrawing one revokes its tokens), grant tokens they own, and their upstream connections.
/// </summary>
/// <remarks>Every change is a form post with an antiforgery token, and only ever touches the signed-in person's own things.</remarks>
public sealed class AccountEndpoints(
    GatehouseDbContext db, ConsentDirectory consents, IAntiforgery antiforgery, TimeProvider time, ConfigurationChanges changes,
    IUserConnections? connections = null)
{
    /// <summary>The page's path.</summary>
    public const string Path = "/account";

    // Fixed notices only: a notice is never text taken from the URL.
    private static readonly Dictionary<string, string> Notices = new(StringComparer.Ordinal)
    {
        ["consent-revoked"] = "Approval withdrawn: the client's tokens are revoked and it must ask you again. Access tokens it already holds expire within minutes.",
        ["grant-revoked"] = "Grant revoked: its token stops working on the next request.",
        ["disconnected"] = "Disconnected: the upstream tokens were revoked at the provider and deleted from Gatehouse.",
        ["not-found"] = "That item is no longer there (already revoked, or not yours).",
    };

    /// <summary><c>GET /account</c>.</summary>
    public async Task<IResult> ShowAsync(HttpContext context, string? notice)
    {
        InteractionPages.Harden(context.Response);
        if (await SignedInAsync(context) is not { } user)
        {
            return Results.Redirect($"{context.Request.PathBase}{LoginScheme.LoginPath}?returnUrl={Uri.EscapeDataString(Path)}");
        }

        var overview = await OverviewAsync(user, context.RequestAborted);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return InteractionPages.Account(context.Response, overview, notice is not null && Notices.TryGetValue(notice, out var text) ? text : null,
            tokens.FormFieldName, tokens.RequestToken!, time.GetUtcNow());
    }

    /// <summary><c>POST /account</c>: <c>action</c> is <c>revoke-consent</c>, <c>revoke-grant</c> or <c>disconnect</c>; <c>id</c> names the item.</summary>
    public async Task<IResult> ChangeAsync(HttpContext context)
    {
        InteractionPages.Harden(context.Response);
        if (!context.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Text("The form expired or did not come from Gatehouse (cross-site request protection); reload the account page.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (await SignedInAsync(context) is not { } user)
        {
            return Results.Redirect($"{context.Request.PathBase}{LoginScheme.LoginPath}?returnUrl={Uri.EscapeDataString(Path)}");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var id = form["id"].ToString();
        var actor = $"user:{user.Id:N}";
        var ct = context.RequestAborted;
        var notice = form["action"].ToString() switch
        {
            "revoke-consent" => await consents.RevokeAsync(id, user.Id, actor, ct) is null ? "not-found" : "consent-revoked",
            "revoke-grant" => await RevokeOwnGrantAsync(user, id, actor, ct) ? "grant-revoked" : "not-found",
            "disconnect" => connections is not null && await connections.DisconnectAsync(id, user.Id.ToString(), actor, ct) ? "disconnected" : "not-found",
            _ => null,
        };
        if (notice is null)
        {
            return Results.Text("Unknown action: use the buttons on the account page.", statusCode: StatusCodes.Status400BadRequest);
        }

        // Post/redirect/get, so reloading the page does not repeat the change.
        return Results.Redirect($"{context.Request.PathBase}{Path}?notice={notice}");
    }

    internal async Task<AccountOverview> OverviewAsync(UserRecord user, CancellationToken ct)
    {
        var grants = await db.Grants.AsNoTracking().Include(g => g.Servers).Where(g => g.OwnerUserId == user.Id).ToListAsync(ct);
        return new AccountOverview(
            user,
            SnapshotLoader.ReadGroups(user.GroupsJson),
            await consents.ListAsync(user.Id, ct),
            grants.OrderBy(g => g.RevokedAt is not null).ThenBy(g => g.Label, StringComparer.Ordinal).ToList(),
            connections is null ? [] : await connections.ListAsync(user.Id.ToString(), ct));
    }

    private async Task<bool> RevokeOwnGrantAsync(UserRecord user, string id, string actor, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var grantId)
            || await db.Grants.FirstOrDefaultAsync(g => g.Id == grantId && g.OwnerUserId == user.Id && g.RevokedAt == null, ct) is not { } grant)
        {
            return false;
        }

        grant.RevokedAt = time.GetUtcNow();
        await ConfigurationCommit.SaveAsync(db, time, changes.Notify, actor, "grant.revoke", grant.Label, "by its owner on the account page", ct);
        return true;
    }

    // The signed-in person, only while their user exists and is enabled: an offboarded person's session shows nothing.
    private async Task<UserRecord?> SignedInAsync(HttpContext context)
    {
        if (await LoginScheme.SignedInUserAsync(context) is not { } subject || !Guid.TryParse(subject, out var id))
        {
            return null;
        }

        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id, context.RequestAborted);
        if (user is null || user.DisabledAt is not null)
        {
            await context.SignOutAsync(LoginScheme.Name);
            return null;
        }

        return user;
    }
}
