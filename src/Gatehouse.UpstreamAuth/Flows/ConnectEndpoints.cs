using System.Security.Cryptography;
using System.Text;
using Gatehouse.Core.Connections;
using Gatehouse.UpstreamAuth.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>
/// Gatehouse's browser-facing OAuth client pages: the connect link, the redirect URI, the admin connect page and the
/// Client ID Metadata Document. Pages are plain HTML that cannot be framed and are never cached.
/// </summary>
public static class ConnectEndpoints
{
    private const string CsrfCookie = "gh_connect_csrf";

    /// <summary>Maps the endpoints.</summary>
    /// <param name="routes">The application.</param>
    /// <param name="flows">The connect flows.</param>
    /// <param name="services">Shared services (public URL, client name).</param>
    /// <param name="verifyAdminToken">Checks an admin token (for the admin connect page).</param>
    /// <param name="signedInUser">The Gatehouse user signed in in this browser, or null (for the per-user connect page).</param>
    /// <param name="loginPath">Where a browser signs in to Gatehouse; it takes a <c>returnUrl</c>.</param>
    public static IEndpointRouteBuilder MapUpstreamConnect(
        this IEndpointRouteBuilder routes, ConnectFlows flows, UpstreamAuthServices services, Func<string, CancellationToken, Task<bool>> verifyAdminToken,
        Func<HttpContext, Task<string?>>? signedInUser = null, string? loginPath = null)
    {
        if (signedInUser is not null)
        {
            var links = new UserConnectLinks(services);
            routes.MapGet(GatewayAddress.ConnectPath + UserConnectLinks.Segment + "/{server}", (HttpContext context, string server, string? ticket) =>
                UserConnectAsync(context, server, ticket, flows, services, links, signedInUser, loginPath));
        }

        routes.MapGet(GatewayAddress.ConnectPath + "/{flowToken}", async (HttpContext context, string flowToken) =>
        {
            var binding = FlowBrowserBinding.Bind(context, FlowBrowserBinding.IsSecure(context, services.PublicBaseUrl), BindingLifetime(services));
            var (opened, target) = await flows.OpenLinkAsync(flowToken, binding, context.RequestAborted);
            if (opened == ConnectLinkOutcome.OtherBrowser)
            {
                await PageAsync(context, 403, "Connect link already opened elsewhere",
                    $"This connect link was already opened in another browser, and only that browser can complete it (GH{(int)Gatehouse.Core.Errors.GatewayErrorId.ConnectFlowOtherBrowser}). " +
                    "Finish in that browser, or run 'gatehouse server connect <server>' for a new link and open it here.");
                return;
            }

            if (target is null)
            {
                await PageAsync(context, 404, "Connect link not valid",
                    "This connect link is unknown, was already used, or expired (links last " + (int)services.Options.FlowLifetime.TotalMinutes + " minutes). Run 'gatehouse server connect <server>' for a new one.");
                return;
            }

            NoStore(context);
            context.Response.Redirect(target.ToString());
        });

        routes.MapGet(GatewayAddress.CallbackPath, async (HttpContext context) =>
        {
            var query = context.Request.Query;
            var browser = new FlowBrowser(
                FlowBrowserBinding.PresentedHash(context, FlowBrowserBinding.IsSecure(context, services.PublicBaseUrl)),
                signedInUser is null ? null : await signedInUser(context));
            var outcome = await flows.CompleteAsync(query["code"], query["state"], query["iss"], query["error"], query["error_description"], browser, context.RequestAborted);
            if (outcome.RedirectTo is { } next)
            {
                NoStore(context);
                context.Response.Redirect(next.ToString());
                return;
            }

            if (outcome.Succeeded && outcome.ContinueTo is { } signIn)
            {
                // The upstream consent was one step of a sign-in to Gatehouse: back to it, which now issues its code.
                NoStore(context);
                context.Response.Redirect(context.Request.PathBase + signIn);
                return;
            }

            await PageAsync(context, outcome.Succeeded ? 200 : outcome.WrongBrowser ? 403 : 400,
                outcome.Succeeded ? $"Connected {outcome.Server}" : "Connection failed",
                outcome.ContinueTo is null ? outcome.Message : outcome.Message + " You can finish signing in without this connection: the client will ask you to connect when it first needs it.",
                outcome.ContinueTo is { } declined
                    ? $"<p><a href=\"{ConnectFlows.Encode(context.Request.PathBase + declined)}\">Continue signing in without connecting</a></p>"
                    : null);
        });

        routes.MapGet(GatewayAddress.ConnectPath + "/server/{server}", async (HttpContext context, string server) =>
        {
            var csrf = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            context.Response.Cookies.Append(CsrfCookie, csrf, new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = GatewayAddress.ConnectPath,
                MaxAge = TimeSpan.FromMinutes(15),
            });
            var name = ConnectFlows.Encode(server);
            await PageAsync(context, 200, $"Connect {server}",
                $"Gatehouse will send you to the authorization server of '{server}'. The account you approve there becomes the shared connection every grant for '{server}' uses. Enter the admin token to continue.",
                $"""
                <form method="post" action="{ConnectFlows.Encode(GatewayAddress.ConnectPath)}/server/{name}">
                <input type="hidden" name="csrf" value="{csrf}">
                <label>Admin token <input type="password" name="admin_token" autocomplete="off" required></label>
                <button type="submit">Connect</button>
                </form>
                """);
        });

        routes.MapPost(GatewayAddress.ConnectPath + "/server/{server}", async (HttpContext context, string server) =>
        {
            if (!context.Request.HasFormContentType)
            {
                await PageAsync(context, 400, "Connection failed", "Submit the form on the connect page.");
                return;
            }

            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var cookie = context.Request.Cookies[CsrfCookie];
            var submitted = form["csrf"].ToString();
            if (cookie is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(cookie), Encoding.UTF8.GetBytes(submitted)))
            {
                await PageAsync(context, 403, "Connection refused", "The form expired or did not come from this page (cross-site request protection). Reload the connect page and try again.");
                return;
            }

            if (!await verifyAdminToken(form["admin_token"].ToString(), context.RequestAborted))
            {
                await PageAsync(context, 403, "Connection refused", "That is not the admin token. 'gatehouse admin reset-token' prints a new one on the gateway's host.");
                return;
            }

            var definition = await flows.FindServerAsync(server, context.RequestAborted);
            if (definition is null)
            {
                await PageAsync(context, 404, "Unknown server", $"No server named '{server}' is registered in Gatehouse.");
                return;
            }

            try
            {
                var binding = FlowBrowserBinding.Bind(context, FlowBrowserBinding.IsSecure(context, services.PublicBaseUrl), BindingLifetime(services));
                var start = await flows.StartInBrowserAsync(definition, ConnectionOwner.Shared(definition.Id), "admin-page", binding, context.RequestAborted);
                NoStore(context);
                context.Response.Redirect(start.AuthorizationUrl.ToString());
            }
            catch (ConnectException ex)
            {
                await PageAsync(context, 502, "Connection failed", ex.Message);
            }
        });

        routes.MapGet(GatewayAddress.ClientMetadataPath, (HttpContext context) =>
        {
            var baseUrl = services.PublicBaseUrl ?? new Uri($"{context.Request.Scheme}://{context.Request.Host}");
            var document = new Dictionary<string, object>
            {
                ["client_id"] = (services.ClientMetadataUrl ?? GatewayAddress.ClientMetadataUrl(baseUrl)).ToString(),
                ["client_name"] = services.Options.ClientName,
                ["redirect_uris"] = new[] { GatewayAddress.RedirectUri(baseUrl).ToString() },
                ["grant_types"] = new[] { "authorization_code", "refresh_token" },
                ["response_types"] = new[] { "code" },
                ["token_endpoint_auth_method"] = "none",
                ["software_id"] = "gatehouse",
            };
            context.Response.Headers.CacheControl = "public, max-age=300";
            return Results.Json(document);
        });

        return routes;
    }

    // The person in the browser must be the user the link was minted for: someone else's link (forwarded, or planted in
    // a page) must never connect their upstream account to another person's Gatehouse user.
    private static async Task UserConnectAsync(
        HttpContext context, string server, string? ticket, ConnectFlows flows, UpstreamAuthServices services, UserConnectLinks links,
        Func<HttpContext, Task<string?>> signedInUser, string? loginPath)
    {
        var definition = await flows.FindServerAsync(server, context.RequestAborted);
        var intendedUser = definition is null ? null : links.Open(ticket, definition.Id);
        if (definition is null || intendedUser is null)
        {
            await PageAsync(context, 404, "Connect link not valid",
                "This connect link is unknown or expired. Retry the call in your MCP client: it answers with a fresh link.");
            return;
        }

        var user = await signedInUser(context);
        if (user is null && loginPath is not null)
        {
            NoStore(context);
            var here = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
            context.Response.Redirect($"{context.Request.PathBase}{loginPath}?returnUrl={Uri.EscapeDataString(here)}");
            return;
        }

        if (user != intendedUser)
        {
            await PageAsync(context, 403, "Connection refused",
                "This link was made for another Gatehouse user. Sign out, sign in to Gatehouse as the person who made the call, and open the link again.");
            return;
        }

        try
        {
            var binding = FlowBrowserBinding.Bind(context, FlowBrowserBinding.IsSecure(context, services.PublicBaseUrl), BindingLifetime(services));
            var start = await flows.StartInBrowserAsync(definition, new ConnectionOwner(ConnectionOwnerKind.User, user), "user-link", binding, context.RequestAborted);
            NoStore(context);
            context.Response.Redirect(start.AuthorizationUrl.ToString());
        }
        catch (ConnectException ex)
        {
            await PageAsync(context, 502, "Connection failed", ex.Message);
        }
    }

    /// <summary>The binding cookie outlives any flow it may be bound to (a flow started at the end of its lifetime still completes).</summary>
    internal static TimeSpan BindingLifetime(UpstreamAuthServices services) => services.Options.FlowLifetime * 2;

    private static void NoStore(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
    }

    private static async Task PageAsync(HttpContext context, int status, string title, string message, string? extra = null)
    {
        NoStore(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; frame-ancestors 'none'";
        context.Response.Headers.XFrameOptions = "DENY";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        var html = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{ConnectFlows.Encode(title)}} · Gatehouse</title>
            <style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;line-height:1.5}</style></head>
            <body><h1>{{ConnectFlows.Encode(title)}}</h1><p>{{ConnectFlows.Encode(message)}}</p>{{extra ?? ""}}</body></html>
            """;
        await context.Response.WriteAsync(html, context.RequestAborted);
    }
}
