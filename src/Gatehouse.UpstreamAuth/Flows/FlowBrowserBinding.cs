using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>
/// Binds an upstream connect flow to the browser that started it: a random value in an HttpOnly cookie, whose SHA-256
/// is stored on the pending flow. The callback completes a flow only when the browser presents the value, so an
/// authorization link handed to someone else (or planted in a page) cannot make their upstream account the starter's.
/// </summary>
/// <remarks>
/// One value per browser, reused while it is valid, so two flows started side by side in one browser both complete.
/// SameSite=Lax lets the top-level redirect back from the upstream carry it. Over https the cookie is
/// <c>__Host-</c> prefixed, which needs Path=/ and forbids a Domain, so a sibling subdomain cannot plant a value the
/// attacker knows; over plain http (loopback development) it is scoped to <c>/oauth</c>, the flow link and the callback.
/// </remarks>
public static class FlowBrowserBinding
{
    /// <summary>The cookie's name over plain http.</summary>
    public const string CookieName = "gh_connect_browser";

    /// <summary>The cookie's name over https.</summary>
    public const string SecureCookieName = "__Host-" + CookieName;

    // The flow link (/oauth/connect/…) and the callback (/oauth/callback) both read it.
    private const string OAuthPathPrefix = "/oauth";

    private const int ValueLength = 43; // 32 random bytes, base64url without padding

    /// <summary>Gives the browser its binding cookie (keeping a valid one it already has); returns the hash to store on the flow.</summary>
    /// <param name="context">The request that starts the flow (or first opens its link).</param>
    /// <param name="secure">Whether Gatehouse is reached over https (its public URL or this request).</param>
    /// <param name="lifetime">How long the cookie lives: at least as long as a pending flow.</param>
    public static string Bind(HttpContext context, bool secure, TimeSpan lifetime)
    {
        var value = Presented(context, secure);
        if (value is null)
        {
            value = Base64Url(RandomNumberGenerator.GetBytes(32));
        }

        context.Response.Cookies.Append(secure ? SecureCookieName : CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = secure,
            Path = secure ? "/" : context.Request.PathBase + OAuthPathPrefix,
            MaxAge = lifetime,
            IsEssential = true,
        });
        return Hash(value);
    }

    /// <summary>The hash of the binding value this browser presents, or null when it has none.</summary>
    public static string? PresentedHash(HttpContext context, bool secure) => Presented(context, secure) is { } value ? Hash(value) : null;

    /// <summary>Whether the browser's value matches the flow's (constant time; a flow never bound matches nothing).</summary>
    public static bool Matches(string? storedHash, string? presentedHash) =>
        storedHash is not null && presentedHash is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(storedHash), Encoding.ASCII.GetBytes(presentedHash));

    /// <summary>Whether cookies for Gatehouse must be Secure: its public URL is https, or this request came over https.</summary>
    public static bool IsSecure(HttpContext context, Uri? publicBaseUrl) =>
        context.Request.IsHttps || publicBaseUrl?.Scheme == Uri.UriSchemeHttps;

    private static string? Presented(HttpContext context, bool secure)
    {
        var value = context.Request.Cookies[secure ? SecureCookieName : CookieName];
        return value is { Length: ValueLength } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? value : null;
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(value)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
