using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Flows;

namespace Gatehouse.Host.Hosting;

/// <summary>Admin API for upstream OAuth connections: start a connect flow, disconnect (revoking at the provider).</summary>
internal static class ConnectionApi
{
    /// <summary>Maps the endpoints onto the (already authenticated) admin API group.</summary>
    public static RouteGroupBuilder MapConnectionApi(this RouteGroupBuilder api, ConnectFlows flows)
    {
        api.MapPost("/servers/{name}/connect", async (string name, CancellationToken ct) =>
        {
            if (await flows.FindServerAsync(name, ct) is not { } server)
            {
                return Results.NotFound(new { error = "not_found", message = $"No server '{name}'." });
            }

            try
            {
                var owner = ConnectionOwner.Shared(server.Id);
                if (server.OAuth?.Grant == UpstreamOAuthGrant.ClientCredentials)
                {
                    return Results.Ok(await flows.ConnectWithClientCredentialsAsync(server, owner, "admin-api", null, ct));
                }

                var start = await flows.StartAsync(server, owner, "admin-api", null, ct);
                return Results.Ok(new { connectUrl = start.ConnectUrl, expiresAt = start.ExpiresAt, issuer = start.Issuer, scopes = start.Scopes, clientSource = start.ClientSource });
            }
            catch (ConnectException ex)
            {
                return Results.UnprocessableEntity(new { error = "connect_failed", message = ex.Message });
            }
        }).WithSummary("Starts connecting an OAuth server: returns the link a person opens (client-credentials servers connect at once).");

        api.MapPost("/servers/{name}/disconnect", async (string name, CancellationToken ct) =>
        {
            if (await flows.FindServerAsync(name, ct) is not { } server)
            {
                return Results.NotFound(new { error = "not_found", message = $"No server '{name}'." });
            }

            var report = await flows.DisconnectAsync(server, ConnectionOwner.Shared(server.Id), "admin-api", ct);
            return report is null
                ? Results.NotFound(new { error = "not_connected", message = $"Server '{name}' has no stored connection." })
                : Results.Ok(report);
        }).WithSummary("Revokes the server's upstream tokens at the provider (RFC 7009, where offered) and deletes them.");
        return api;
    }
}
