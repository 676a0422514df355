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
    public static async Task<string?> SignedInUserAsync(Microsoft.AspNetCore.Http.HttpContext context)
    {
        var login = await Microsoft.AspNetCore.Authentication.AuthenticationHttpContextExtensions.AuthenticateAsync(context, Name);
        return login.Succeeded ? login.Principal.FindFirst(OpenIddict.Abstractions.OpenIddictConstants.Claims.Subject)?.Value : null;
    }
}
