using Gatehouse.Identity.Interaction;
using Gatehouse.Identity.Organisation;
using Gatehouse.Identity.Registration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Gatehouse's authorization server.</summary>
public static class IdentityEndpointRouteBuilderExtensions
{
    // The framework adds the authentication middleware in front of every request when authentication is registered; it is
    // added here only for the authorization server's paths, so the proxy's request path pays nothing for it.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    /// <summary>
    /// Runs authentication (OpenIddict's request handling and the login cookie) for the authorization server's paths only.
    /// Call before mapping endpoints.
    /// </summary>
    public static WebApplication UseGatehouseAuthorizationServer(this WebApplication app)
    {
        app.UseWhen(context => IsAuthorizationServerPath(context.Request.Path), branch => branch.Use(AllowCrossOrigin).Use(Gatehouse.Identity.Server.OAuthRequestGuard.InvokeAsync).UseRateLimiter().UseAuthentication());
        ((IApplicationBuilder)app).Properties[AuthenticationMiddlewareSetKey] = true;
        return app;
    }

    /// <summary>Maps <c>/oauth2/authorize</c>, <c>/oauth2/token</c>, <c>/oauth2/login</c>, <c>/oauth2/register</c> and the account page.</summary>
    public static IEndpointRouteBuilder MapGatehouseAuthorizationServer(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/oauth2/authorize", [HttpMethods.Get, HttpMethods.Post], (HttpContext context, AuthorizationEndpoints endpoints) => endpoints.AuthorizeAsync(context));
        routes.MapPost("/oauth2/token", (HttpContext context, AuthorizationEndpoints endpoints) => endpoints.TokenAsync(context));
        routes.MapGet(LoginScheme.LoginPath, (HttpContext context, AuthorizationEndpoints endpoints, string? returnUrl) => endpoints.LoginPageAsync(context, returnUrl));
        routes.MapGet(OrganisationSignIn.StartPath, (HttpContext context, AuthorizationEndpoints endpoints, string? returnUrl) => endpoints.StartOrganisationSignInAsync(context, returnUrl));
        routes.MapPost(LoginScheme.LoginPath, (HttpContext context, AuthorizationEndpoints endpoints) => endpoints.LoginAsync(context));
        routes.MapPost(ClientRegistrationEndpoint.Path, (HttpContext context, ClientRegistrationEndpoint endpoint) => endpoint.HandleAsync(context))
            .RequireRateLimiting(RegistrationRateLimit.PolicyName);
        routes.MapGet(AccountEndpoints.Path, (HttpContext context, AccountEndpoints account, string? notice) => account.ShowAsync(context, notice));
        routes.MapPost(AccountEndpoints.Path, (HttpContext context, AccountEndpoints account) => account.ChangeAsync(context));
        return routes;
    }

    // Browser-based MCP clients (the Inspector) call discovery, registration, token and revocation from their own
    // origin. These endpoints take no cookies and answer only with what the request's credentials allow, so any origin
    // may read them; the login and consent pages are browser navigations and get no CORS headers.
    private static Task AllowCrossOrigin(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments("/.well-known") && path != "/oauth2/token" && path != "/oauth2/register" && path != "/oauth2/revoke" && path != "/oauth2/jwks")
        {
            return next();
        }

        context.Response.Headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(context.Request.Method) && context.Request.Headers.ContainsKey("Access-Control-Request-Method"))
        {
            context.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            context.Response.Headers.AccessControlAllowHeaders = "Authorization, Content-Type, MCP-Protocol-Version";
            context.Response.Headers.AccessControlMaxAge = "600";
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        return next();
    }

    private static bool IsAuthorizationServerPath(PathString path) =>
        path.StartsWithSegments("/oauth2")
        || path.StartsWithSegments("/.well-known/oauth-authorization-server")
        || path.StartsWithSegments("/.well-known/openid-configuration");
}
