using Gatehouse.Admin.Administration;
using Gatehouse.Identity.Users;
using Gatehouse.Storage;
using Gatehouse.UpstreamAuth.Flows;
using OpenIddict.Abstractions;

namespace Gatehouse.Host.Hosting;

/// <summary>Admin API for people: users, the approvals they gave clients, and offboarding.</summary>
internal static class IdentityApi
{
    /// <summary>Maps the endpoints onto the (already authenticated) admin API group.</summary>
    /// <param name="api">The admin API group.</param>
    /// <param name="flows">Upstream connect flows (offboarding revokes upstream tokens at the providers).</param>
    /// <param name="onChanged">Signals running gateways that the configuration changed.</param>
    public static RouteGroupBuilder MapIdentityApi(this RouteGroupBuilder api, ConnectFlows flows, Action onChanged)
    {
        api.MapGet("/consents", async (string? user, GatehouseDbContext db, ConsentDirectory consents, CancellationToken ct) =>
        {
            Guid? only = null;
            if (user is not null)
            {
                if (await GatewayAdministration.FindUserAsync(db, user, ct) is not { } record)
                {
                    return NoUser(user);
                }

                only = record.Id;
            }

            return Results.Ok(await consents.ListAsync(only, ct));
        }).WithSummary("Lists valid approvals people gave MCP clients (optionally one user's).");

        api.MapDelete("/consents/{id}", async (string id, ConsentDirectory consents, CancellationToken ct) =>
            await consents.RevokeAsync(id, null, "admin-api", ct) is { } revoked
                ? Results.Ok(revoked)
                : Results.NotFound(new { error = "not_found", message = $"No valid approval '{id}'. GET /admin/api/consents lists them." }))
            .WithSummary("Withdraws an approval and revokes every token issued under it.");

        api.MapPost("/users/{user}/offboard", async (
            string user, GatehouseDbContext db, IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, TimeProvider time, CancellationToken ct) =>
        {
            if (await GatewayAdministration.FindUserAsync(db, user, ct) is not { } record)
            {
                return NoUser(user);
            }

            var offboarding = new UserOffboarding(db, tokens, authorizations, time, onChanged,
                (id, token) => UserConnections.DisconnectAllAsync(db, flows, id, "admin-api", token));
            return Results.Ok(await offboarding.OffboardAsync(record, "admin-api", ct));
        }).WithSummary("Disables a user and cuts everything they hold: grants, Gatehouse tokens, consents, sessions, upstream tokens (revoked at the providers).");
        return api;
    }

    private static IResult NoUser(string user) =>
        Results.NotFound(new { error = "not_found", message = $"No user '{user}' (or the name is shared: use the id). GET /admin/api/users lists them." });
}
