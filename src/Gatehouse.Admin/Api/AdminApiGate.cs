using Gatehouse.Admin.Administration;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Admin.Api;

/// <summary>
/// Checks the admin token for every request under <c>/admin/api</c> (the OpenAPI document included) before any
/// endpoint runs.
/// </summary>
/// <remarks>
/// Minimal API endpoint filters run after parameter binding, so a filter alone would let anyone make the gateway read
/// (and parse) a JSON body before being refused. This middleware runs between routing and the endpoint: an
/// unauthenticated caller gets 401 while its body is still unread, and Kestrel discards the rest.
/// </remarks>
public static class AdminApiGate
{
    /// <summary>Where the admin API and its OpenAPI document live.</summary>
    public const string PathPrefix = "/admin/api";

    private static readonly object AuthenticatedKey = new();

    /// <summary>Refuses unauthenticated requests under <see cref="PathPrefix"/> before they reach an endpoint.</summary>
    public static IApplicationBuilder UseGatehouseAdminApiGate(this IApplicationBuilder app, GatehouseStorage storage) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase), branch => branch.Use(async (context, next) =>
        {
            if (!await VerifyAsync(storage, context))
            {
                await Refuse(context).ExecuteAsync(context);
                return;
            }

            context.Items[AuthenticatedKey] = true;
            await next(context);
        }));

    /// <summary>True when the gate already let this request through; else checks the token itself (an app that maps the API without the gate).</summary>
    internal static async Task<bool> IsAuthenticatedAsync(GatehouseStorage storage, HttpContext context) =>
        context.Items.ContainsKey(AuthenticatedKey) || await VerifyAsync(storage, context);

    /// <summary>The 401 answer: what to send and where the token is.</summary>
    internal static IResult Refuse(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gatehouse-admin\"";
        return Results.Json(new AdminApi.ErrorBody("unauthorized",
                $"Send 'Authorization: Bearer <admin token>'. The token was printed on first start and is in {AdminCredentials.FileName} in the data directory; 'gatehouse admin reset-token' makes a new one."),
            statusCode: StatusCodes.Status401Unauthorized);
    }

    private static async Task<bool> VerifyAsync(GatehouseStorage storage, HttpContext context)
    {
        await using var db = storage.CreateContext();
        return await AdminCredentials.VerifyAsync(db, context.Request.Headers.Authorization, context.RequestAborted);
    }
}
