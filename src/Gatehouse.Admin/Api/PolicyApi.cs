using Gatehouse.Admin.Administration;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Admin.Api;

/// <summary>Policy endpoints of the admin API (inside the admin group, so behind the admin token).</summary>
public static class PolicyApi
{
    /// <summary>Where to attach a policy: exactly one of a server name, a grant label/id, a user id/name or a group name.</summary>
    public sealed record AttachRequest(string? Server, string? Grant, string? User = null, string? Group = null)
    {
        internal AttachmentTarget Target => new(Server, Grant, User, Group);
    }

    /// <summary>
    /// <c>GET /policies</c>, <c>PUT /policies/{name}</c> (the document as the body, YAML or JSON; refused with every
    /// error's line when invalid), <c>POST /policies/{name}/attach</c> and <c>POST /policies/detach</c>.
    /// </summary>
    public static RouteGroupBuilder MapPolicyApi(this RouteGroupBuilder api, GatehouseStorage storage, Func<GatehouseDbContext, PolicyAdministration> policies)
    {
        api.MapGet("/policies", async (CancellationToken ct) =>
        {
            await using var db = storage.CreateContext();
            return Results.Json(await policies(db).ListAsync(ct));
        });
        api.MapPut("/policies/{name}", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            var document = await reader.ReadToEndAsync(ct);
            await using var db = storage.CreateContext();
            return AdminApi.ToResult(await policies(db).ApplyAsync(name, document, "admin-api", ct));
        }).Accepts<string>("application/yaml", "application/json", "text/plain");
        api.MapPost("/policies/{name}/attach", async (string name, AttachRequest body, CancellationToken ct) =>
        {
            await using var db = storage.CreateContext();
            return AdminApi.ToResult(await policies(db).AttachAsync(name, body.Target, "admin-api", ct));
        });
        api.MapPost("/policies/detach", async (AttachRequest body, CancellationToken ct) =>
        {
            await using var db = storage.CreateContext();
            return AdminApi.ToResult(await policies(db).AttachAsync(null, body.Target, "admin-api", ct));
        });
        return api;
    }
}
