using System.Net;

namespace Gatehouse.Identity.Registration;

/// <summary>Which redirect URIs a dynamically registered client may register (OAuth 2.1 §2.3.1, RFC 8252).</summary>
/// <remarks>Pure: the allowed custom schemes are given. Matching at the authorization endpoint is exact (OpenIddict compares strings).</remarks>
public static class RedirectUriRules
{
    /// <summary>Returns null when <paramref name="value"/> may be registered, else why not (for <c>error_description</c>).</summary>
    public static string? Check(string? value, ISet<string> allowedCustomSchemes)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 2048)
        {
            return "a redirect URI is empty or longer than 2048 characters";
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return $"'{value}' is not an absolute URI";
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return $"'{value}' has a fragment, which redirect URIs may not have";
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return uri.UserInfo.Length > 0 ? $"'{value}' carries user information" : null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            return IsLoopback(uri) && uri.UserInfo.Length == 0
                ? null
                : $"'{value}' uses http on a host that is not loopback; use https, or http://127.0.0.1, http://localhost or http://[::1] (any port)";
        }

        return allowedCustomSchemes.Contains(uri.Scheme)
            ? null
            : $"the scheme '{uri.Scheme}' of '{value}' is not allowed; use https, http on a loopback host, or one of: {string.Join(", ", allowedCustomSchemes.Order())}";
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IdnHost is "localhost" || (IPAddress.TryParse(uri.IdnHost, out var address) && (address.Equals(IPAddress.Loopback) || address.Equals(IPAddress.IPv6Loopback)));
}
