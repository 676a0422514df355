using Gatehouse.Admin.Administration;
using Gatehouse.Admin.Declarative;
using Gatehouse.Core.Configuration;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Admin.Api;

/// <summary>The admin JSON API under <c>/admin/api</c>, protected by the admin token (<c>Authorization: Bearer gta_…</c>).</summary>
public static class AdminApi
{
    /// <summary>Request body to register a server.</summary>
    public sealed record ServerRequest(string Name, string Url, string? Transport, Dictionary<string, string>? Headers, bool? Enabled, bool? ForwardIdentityHeaders = null);

    /// <summary>Request body to create a grant.</summary>
    public sealed record GrantRequest(string Label, List<string> Servers, string? Expires);

    /// <summary>Request body to configure the organisation's identity provider (the secret is sealed and never returned).</summary>
    public sealed record LoginProviderRequest(
        string Issuer, string ClientId, string ClientSecret, string? GroupsClaim, string? Scopes, string? Name, bool? AllowLoopback);

    /// <summary>An error body.</summary>
    public sealed record ErrorBody(string Error, string Message);

    /// <summary>Maps the API. <paramref name="administration"/> opens the service for one request.</summary>
    public static RouteGroupBuilder MapGatehouseAdminApi(this IEndpointRouteBuilder endpoints, GatehouseStorage storage, Func<GatehouseDbContext, GatewayAdministration> administration)
    {
        var api = endpoints.MapGroup("/admin/api").WithTags("admin").WithMetadata(new AdminBodyLimit());
        // The gate (UseGatehouseAdminApiGate) has refused unauthenticated callers before binding read any body; this
        // filter only repeats the check for an application that maps the API without it.
        api.AddEndpointFilter(async (context, next) =>
            await AdminApiGate.IsAuthenticatedAsync(storage, context.HttpContext) ? await next(context) : AdminApiGate.Refuse(context.HttpContext));

        api.MapGet("/servers", async (CancellationToken ct) => await Use(storage, administration, a => a.ListServersAsync(ct)));
        api.MapGet("/servers/{name}", async (string name, CancellationToken ct) => ToResult(await Use(storage, administration, a => a.GetServerAsync(name, ct))));
        api.MapPost("/servers", async (ServerRequest body, CancellationToken ct) => RefuseHostReferences(body) ??
            ToResult(await Use(storage, administration, a => a.AddServerAsync(ToSpec(body), "admin-api", ct)), created: true));
        api.MapPut("/servers/{name}", async (string name, ServerRequest body, CancellationToken ct) => RefuseHostReferences(body) ??
            ToResult(await Use(storage, administration, a => a.UpsertServerAsync(ToSpec(body with { Name = name }), "admin-api", ct))));
        api.MapDelete("/servers/{name}", async (string name, CancellationToken ct) => ToResult(await Use(storage, administration, a => a.RemoveServerAsync(name, "admin-api", ct))));

        api.MapGet("/login-provider", async (CancellationToken ct) =>
                await Use(storage, administration, a => a.GetLoginProviderAsync(ct)) is { } view
                    ? Results.Ok(view)
                    : Results.Json(new ErrorBody("not_found", "No identity provider is configured: PUT one here, or run 'gatehouse login-provider set'."), statusCode: StatusCodes.Status404NotFound))
            .WithSummary("The organisation's identity provider people sign in with (never its secret).");
        api.MapPut("/login-provider", async (LoginProviderRequest body, CancellationToken ct) =>
                RefuseHostReferences(("'clientSecret'", body.ClientSecret), ("'clientId'", body.ClientId), ("'issuer'", body.Issuer)) ??
                (MissingLoginProviderFields(body) is { } missing
                    ? Results.Json(new ErrorBody("invalid", $"The identity provider needs {missing}: send issuer, clientId and clientSecret (groupsClaim, scopes, name and allowLoopback are optional)."), statusCode: StatusCodes.Status400BadRequest)
                    : ToResult(await Use(storage, administration, a => a.SetLoginProviderAsync(
                    new LoginProviderSpec(body.Issuer, body.ClientId, body.ClientSecret, body.GroupsClaim, body.Scopes, body.Name, body.AllowLoopback ?? false), "admin-api", ct)))))
            .WithSummary("Configures or replaces the identity provider; running gateways use it on the next sign-in, no restart.");
        api.MapDelete("/login-provider", async (CancellationToken ct) => ToResult(await Use(storage, administration, a => a.RemoveLoginProviderAsync("admin-api", ct))))
            .WithSummary("Removes the identity provider (its users keep their rows and grants but cannot sign in through it).");
        api.MapGet("/users", async (CancellationToken ct) => await Use(storage, administration, a => a.ListUsersAsync(ct)))
            .WithSummary("Lists users: id, name, kind, status, created, last sign-in.");
        api.MapGet("/grants", async (CancellationToken ct) => await Use(storage, administration, a => a.ListGrantsAsync(ct)));
        api.MapPost("/grants", async (GrantRequest body, CancellationToken ct) =>
        {
            TimeSpan? expires = null;
            if (body.Expires is { Length: > 0 })
            {
                if (!DurationParser.TryParse(body.Expires, out var parsed, out var problem))
                {
                    return Results.Json(new ErrorBody("invalid", problem), statusCode: StatusCodes.Status400BadRequest);
                }

                expires = parsed;
            }

            return ToResult(await Use(storage, administration, a => a.CreateGrantAsync(body.Label, body.Servers ?? [], expires, "admin-api", ct)), created: true);
        });
        api.MapPost("/grants/{idOrLabel}/revoke", async (string idOrLabel, CancellationToken ct) => ToResult(await Use(storage, administration, a => a.RevokeGrantAsync(idOrLabel, "admin-api", ct))));
        api.MapPost("/grants/{idOrLabel}/rotate", async (string idOrLabel, CancellationToken ct) => ToResult(await Use(storage, administration, a => a.RotateGrantAsync(idOrLabel, "admin-api", ct))));

        api.MapPost("/apply", async (HttpRequest request, bool? prune, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            var parsed = DeclarativeConfig.ParseFromApi(await reader.ReadToEndAsync(ct));
            if (!parsed.Succeeded)
            {
                return ToResult(parsed);
            }

            return ToResult(await Use(storage, administration, a => DeclarativeConfig.ApplyAsync(a, parsed.Value!, prune ?? false, "admin-api", ct)));
        }).Accepts<string>("application/yaml", "text/yaml");

        LogApi.MapLogEndpoints(api, storage);
        return api;
    }

    /// <summary>400 when a server body holds a <c>${...}</c> reference (GH1900): the API never expands on the gateway's host.</summary>
    private static IResult? RefuseHostReferences(ServerRequest body) =>
        RefuseHostReferences([("'name'", body.Name), ("'url'", body.Url), .. (body.Headers ?? []).SelectMany(h => new[] { ($"header name '{h.Key}'", (string?)h.Key), ($"header '{h.Key}'", h.Value) })]);

    private static IResult? RefuseHostReferences(params (string Field, string? Value)[] fields) =>
        fields.Where(f => HostReferences.Contains(f.Value)).Select(f => f.Field).ToList() is { Count: > 0 } found
            ? Results.Json(new ErrorBody("invalid", HostReferences.HostReferenceRefusal(string.Join(", ", found))), statusCode: StatusCodes.Status400BadRequest)
            : null;

    // The body binds without checks, so a field left out arrives as null rather than as a 400 of its own.
    private static string? MissingLoginProviderFields(LoginProviderRequest body)
    {
        var missing = new[] { ("issuer", body.Issuer), ("clientId", body.ClientId), ("clientSecret", body.ClientSecret) }
            .Where(f => string.IsNullOrWhiteSpace(f.Item2)).Select(f => f.Item1).ToList();
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    private static ServerSpec ToSpec(ServerRequest body) =>
        new(body.Name, body.Url, body.Transport, (body.Headers ?? []).ToList(), body.Enabled ?? true, ForwardIdentityHeaders: body.ForwardIdentityHeaders ?? false);

    private static async Task<T> Use<T>(GatehouseStorage storage, Func<GatehouseDbContext, GatewayAdministration> administration, Func<GatewayAdministration, Task<T>> action)
    {
        await using var db = storage.CreateContext();
        return await action(administration(db));
    }

    internal static IResult ToResult<T>(AdminResult<T> result, bool created = false)
    {
        if (result.Succeeded)
        {
            return created ? Results.Json(result.Value, statusCode: StatusCodes.Status201Created) : Results.Json(result.Value);
        }

        var (status, code) = result.Failure switch
        {
            AdminFailure.NotFound => (StatusCodes.Status404NotFound, "not_found"),
            AdminFailure.Conflict => (StatusCodes.Status409Conflict, "conflict"),
            _ => (StatusCodes.Status400BadRequest, "invalid"),
        };
        return Results.Json(new ErrorBody(code, result.Error!), statusCode: status);
    }
}
