using System.Collections.Immutable;
using System.Security.Claims;
using Gatehouse.Identity.Organisation;
using Gatehouse.Identity.Registration;
using Gatehouse.Identity.Server;
using Gatehouse.Identity.Users;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Security;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Interaction;

/// <summary>
/// The passthrough handlers of OpenIddict's authorization and token endpoints, and the login page. OpenIddict has already
/// validated the protocol (client, redirect URI, PKCE S256) when these run; they decide who signs in, to what, and whether
/// the person approved it.
/// </summary>
public sealed class AuthorizationEndpoints(
    IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations, ResourceIndicators resources,
    IAntiforgery antiforgery, GatehouseDbContext db, TimeProvider time, OrganisationProvider organisation,
    Func<string, CancellationToken, Task<bool>> verifyAdminToken, IUpstreamConsentDuringSignIn? upstreamConsent = null)
{
    /// <summary>The scope every MCP token carries (besides <c>offline_access</c>).</summary>
    public const string McpScope = "mcp";

    private static readonly string[] OwnFields = ["consent", "__RequestVerificationToken"];

    /// <summary><c>GET|POST /oauth2/authorize</c>.</summary>
    public async Task<IResult> AuthorizeAsync(HttpContext context)
    {
        InteractionPages.Harden(context.Response);
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict authorization request.");
        var (server, problem) = resources.Resolve(context.Request, Requested(request));
        if (server is null)
        {
            return Forbid(Errors.InvalidTarget, problem!);
        }

        // prompt=none asks for an answer without any page: a person who would have to sign in or approve gets an error.
        var silent = request.HasPromptValue(PromptValues.None);
        var login = await context.AuthenticateAsync(LoginScheme.Name);
        if (!login.Succeeded || login.Principal.FindFirst(Claims.Subject)?.Value is not { } subject)
        {
            if (silent)
            {
                return Forbid(Errors.LoginRequired, "The user is not signed in to Gatehouse.");
            }

            var returnUrl = context.Request.PathBase + AuthorizationRequestPath(request);
            return Results.Redirect($"{context.Request.PathBase}{LoginScheme.LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        context.User = login.Principal;
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == Guid.Parse(subject), context.RequestAborted);
        if (user is null || user.DisabledAt is not null)
        {
            await context.SignOutAsync(LoginScheme.Name);
            return Forbid(Errors.AccessDenied, "This user may not sign in.");
        }

        var application = await applications.FindByClientIdAsync(request.ClientId!, context.RequestAborted)
            ?? throw new InvalidOperationException("OpenIddict validated an unknown client.");
        var applicationId = await applications.GetIdAsync(application, context.RequestAborted);
        var scopes = request.GetScopes().Union([McpScope, Scopes.OfflineAccess]).Order(StringComparer.Ordinal).ToImmutableArray();
        var consentScopes = scopes.Add(ResourceIndicators.ServerConsentPrefix + server);

        object? authorization = null;
        await foreach (var existing in authorizations.FindAsync(subject, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, consentScopes, context.RequestAborted))
        {
            authorization = existing;
            break;
        }

        if (authorization is null && HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Text("The consent form expired or did not come from Gatehouse; start the sign-in again from your client.", statusCode: StatusCodes.Status400BadRequest);
            }

            var decision = context.Request.Form["consent"].ToString();
            if (decision == "deny")
            {
                return Forbid(Errors.AccessDenied, "The user denied the request.");
            }

            if (decision == "accept")
            {
                var identity = Identity(user.Id.ToString(), user.DisplayName, scopes, Requested(request)[0]);
                authorization = await authorizations.CreateAsync(new ClaimsPrincipal(identity), subject, applicationId!, AuthorizationTypes.Permanent, consentScopes, context.RequestAborted);
                db.AuditEvents.Add(new Storage.Entities.AuditEventRecord
                {
                    At = time.GetUtcNow(), Actor = $"user:{user.Id:N}", Action = "client.consent", Target = $"client:{request.ClientId}",
                    Details = $"server {server}; scopes {string.Join(' ', scopes)}",
                });
                await db.SaveChangesAsync(context.RequestAborted);
            }
        }

        if (authorization is null)
        {
            if (silent)
            {
                return Forbid(Errors.ConsentRequired, "The user has not approved this client for this server.");
            }

            var tokens = antiforgery.GetAndStoreTokens(context);
            var hidden = RequestParameters(request);
            var name = await applications.GetDisplayNameAsync(application, context.RequestAborted) ?? request.ClientId!;
            // A metadata document client is whoever controls its URL's host: the page says so, since its name proves nothing.
            var identifiedBy = ClientMetadataDocumentFetcher.IsUrlClientId(request.ClientId) ? new Uri(request.ClientId!).Authority : null;
            return InteractionPages.Consent(context.Response, user.DisplayName, name, new Uri(request.RedirectUri!).Authority is { Length: > 0 } host ? host : request.RedirectUri!,
                server, scopes, hidden, tokens.FormFieldName, tokens.RequestToken!, identifiedBy);
        }

        // Linked sign-in: a per-user server this person has not connected yet sends the browser through the upstream's
        // consent first and back here, so the client's first call works. Never for prompt=none (no page may be shown),
        // and not again once the person declined or the upstream failed (the callback page marks the way back).
        if (upstreamConsent is not null && !silent && string.IsNullOrEmpty(context.Request.Query[IUpstreamConsentDuringSignIn.DeclinedParameter])
            && await upstreamConsent.StartIfNeededAsync(server, subject, AuthorizationRequestPath(request), context.RequestAborted) is { } upstream)
        {
            return Results.Redirect(upstream.ToString());
        }

        var signedIn = Identity(user.Id.ToString(), user.DisplayName, scopes, Requested(request)[0]);
        signedIn.SetAuthorizationId(await authorizations.GetIdAsync(authorization, context.RequestAborted));
        return Results.SignIn(new ClaimsPrincipal(signedIn), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary><c>POST /oauth2/token</c> for the authorization code and refresh token grants.</summary>
    public async Task<IResult> TokenAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict token request.");
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return Forbid(Errors.UnsupportedGrantType, "Only authorization_code and refresh_token are supported.");
        }

        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        if (result.Principal is not { } principal || principal.GetClaim(Claims.Subject) is not { } subject)
        {
            return Forbid(Errors.InvalidGrant, "The code or refresh token is no longer valid.");
        }

        // The token stays bound to the resource the person approved: a different resource here is refused, not widened.
        var granted = principal.GetResources();
        if (Requested(request).Any(r => !granted.Contains(r, StringComparer.Ordinal)))
        {
            return Forbid(Errors.InvalidTarget, "The resource differs from the one approved at authorization.");
        }

        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == Guid.Parse(subject), context.RequestAborted);
        if (user is null || user.DisabledAt is not null)
        {
            return Forbid(Errors.InvalidGrant, "The user may no longer sign in.");
        }

        var identity = Identity(subject, user.DisplayName, principal.GetScopes(), granted.Single());
        identity.SetAuthorizationId(principal.GetAuthorizationId());
        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary><c>GET /oauth2/login</c>: the token form, the organisation's provider when one is configured, and who is signed in.</summary>
    public async Task<IResult> LoginPageAsync(HttpContext context, string? returnUrl)
    {
        var provider = await organisation.RefreshAsync(db, context.RequestAborted);
        var signedIn = await context.AuthenticateAsync(LoginScheme.Name);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return InteractionPages.Login(context.Response, SafeReturnUrl(returnUrl), tokens.FormFieldName, tokens.RequestToken!, null,
            provider?.DisplayName, signedIn.Succeeded ? signedIn.Principal.FindFirst(Claims.Name)?.Value : null);
    }

    /// <summary><c>GET /oauth2/login/oidc</c>: sends the browser to the organisation's identity provider (code flow, PKCE, nonce).</summary>
    public async Task<IResult> StartOrganisationSignInAsync(HttpContext context, string? returnUrl)
    {
        InteractionPages.Harden(context.Response);
        if (await organisation.RefreshAsync(db, context.RequestAborted) is not { } provider)
        {
            return InteractionPages.Refused(context.Response, StatusCodes.Status404NotFound,
                "No identity provider is configured for signing in; an admin sets one with 'gatehouse login-provider set'.");
        }

        try
        {
            await context.ChallengeAsync(OrganisationSignIn.Scheme, new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) });
            return Results.Empty;
        }
        catch (InvalidOperationException ex)
        {
            // The provider's discovery document or keys could not be read (unreachable, refused address, not OpenID Connect).
            return InteractionPages.Refused(context.Response, StatusCodes.Status502BadGateway,
                $"Gatehouse could not reach the identity provider {provider.DisplayName} ({provider.Issuer}): {Gatehouse.UpstreamAuth.Net.OutboundUrlRefusedException.FindPublicMessage(ex) ?? ex.Message} Try again later, or ask an admin to check 'gatehouse login-provider show'.");
        }
    }

    /// <summary><c>POST /oauth2/login</c>: the admin token signs the bootstrap admin in.</summary>
    public async Task<IResult> LoginAsync(HttpContext context)
    {
        InteractionPages.Harden(context.Response);
        if (!context.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Text("The sign-in form expired or did not come from Gatehouse; reload it.", statusCode: StatusCodes.Status400BadRequest);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = SafeReturnUrl(form["returnUrl"]);
        var token = form["token"].ToString().Trim();
        var user = await verifyAdminToken(token, context.RequestAborted)
            ? await BootstrapAdmin.EnsureAsync(db, time, context.RequestAborted)
            : await RedeemLocalSignInAsync(token, context.RequestAborted);
        var refusal = user is null ? "That is neither the admin token nor a valid sign-in token."
            : user.DisabledAt is { } disabledAt ? LoginScheme.DisabledMessage(disabledAt) : null;
        if (user is null || refusal is not null)
        {
            var tokens = antiforgery.GetAndStoreTokens(context);
            return InteractionPages.Login(context.Response, returnUrl, tokens.FormFieldName, tokens.RequestToken!, refusal,
                organisation.Current?.DisplayName, signedInAs: null);
        }

        user.LastSignInAt = time.GetUtcNow();
        await db.SaveChangesAsync(context.RequestAborted);
        await context.SignInAsync(LoginScheme.Name, LoginScheme.CreatePrincipal(user));
        return Results.Redirect(returnUrl);
    }

    // A local user's one-time token: found by its hash and cleared in the same save, so it signs in once.
    private async Task<UserRecord?> RedeemLocalSignInAsync(string token, CancellationToken ct)
    {
        if (!SecretToken.IsWellFormed(token, LocalUserSignIn.Prefix))
        {
            return null;
        }

        var hash = SecretToken.Hash(token);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Issuer == LocalUserSignIn.Issuer && u.ExternalSubject == hash && u.DisabledAt == null, ct);
        if (user is null)
        {
            return null;
        }

        // Conditional on the hash still being there, so two racing sign-ins cannot both use one token.
        var claimed = await db.Users.Where(u => u.Id == user.Id && u.ExternalSubject == hash)
            .ExecuteUpdateAsync(set => set.SetProperty(u => u.ExternalSubject, (string?)null), ct);
        if (claimed != 1)
        {
            return null;
        }

        db.AuditEvents.Add(new AuditEventRecord { At = time.GetUtcNow(), Actor = "login", Action = "user.sign-in", Target = $"user:{user.Id:N} ({user.DisplayName})" });
        await db.SaveChangesAsync(ct);
        return user;
    }

    private static string SafeReturnUrl(string? returnUrl) => LoginScheme.SafeReturnUrl(returnUrl);

    // The authorization request as a GET path on Gatehouse, without the page's own form fields: where a sign-in resumes.
    private static string AuthorizationRequestPath(OpenIddictRequest request) =>
        "/oauth2/authorize" + QueryString.Create(RequestParameters(request).Select(p => KeyValuePair.Create(p.Key, (string?)p.Value)));

    // Every parameter of the request (each value of a repeated one), without the page's own form fields.
    private static IEnumerable<KeyValuePair<string, string>> RequestParameters(OpenIddictRequest request) =>
        request.GetParameters().Where(p => !OwnFields.Contains(p.Key))
            .SelectMany(p => (p.Value.GetUnnamedParameters() is { Count: > 0 } many ? many.Select(v => v.ToString()) : [p.Value.ToString()])
                .Select(v => KeyValuePair.Create(p.Key, v ?? "")));

    private static string[] Requested(OpenIddictRequest request) => request.Resources?.OfType<string>().ToArray() ?? [];

    private static ClaimsIdentity Identity(string subject, string name, IEnumerable<string> scopes, string resource)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, subject).SetClaim(Claims.Name, name);
        identity.SetScopes(scopes);
        identity.SetResources(resource);
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        return identity;
    }

    private static IResult Forbid(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
