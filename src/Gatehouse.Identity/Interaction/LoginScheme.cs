using System.Security.Claims;
using Gatehouse.Storage.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Interaction;

/// <summary>The cookie authentication scheme of the login page (a person's browser session at Gatehouse).</summary>
public static class LoginScheme
{
    /// <summary>The scheme name.</summary>
    public const string Name = "Gatehouse.Login";

    /// <summary>The login page.</summary>
    public const string LoginPath = "/oauth2/login";

    /// <summary>The session cookie's name: <c>__Host-</c> prefixed when served over https.</summary>
    public static string CookieName(bool secure) => secure ? "__Host-gatehouse-session" : "gatehouse-session";

    /// <summary>The antiforgery cookie's name.</summary>
    public static string AntiforgeryCookieName(bool secure) => secure ? "__Host-gatehouse-csrf" : "gatehouse-csrf";

    /// <summary>The id of the Gatehouse user signed in in this browser, or null.</summary>
    public static async Task<string?> SignedInUserAsync(HttpContext context)
    {
        var login = await context.AuthenticateAsync(Name);
        return login.Succeeded ? login.Principal.FindFirst(Claims.Subject)?.Value : null;
    }

    /// <summary>The login cookie's principal for <paramref name="user"/>: its id (the subject of every token) and name.</summary>
    public static ClaimsPrincipal CreatePrincipal(UserRecord user)
    {
        var identity = new ClaimsIdentity(Name, Claims.Name, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, user.Id.ToString()));
        identity.AddClaim(new Claim(Claims.Name, user.DisplayName));
        return new ClaimsPrincipal(identity);
    }

    /// <summary>Only Gatehouse's own authorization endpoint, account page and per-user connect page: never an open redirect.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is not null && !returnUrl.Contains('\\')
        && (returnUrl.StartsWith("/oauth2/authorize?", StringComparison.Ordinal) || returnUrl == AccountEndpoints.Path
            || (returnUrl.StartsWith("/oauth/connect/user/", StringComparison.Ordinal) && !returnUrl.Contains("//", StringComparison.Ordinal)))
            ? returnUrl : "/oauth2/authorize";

    /// <summary>What a disabled user is told when they try to sign in.</summary>
    public static string DisabledMessage(DateTimeOffset disabledAt) =>
        FormattableString.Invariant($"This user was disabled at {disabledAt:yyyy-MM-dd HH:mm}Z and may not sign in.");
}
