using System.Net;
using System.Text;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>Builds the authorization request URL the browser is sent to (OAuth 2.1 §4.1.1 with PKCE S256 and RFC 8707 <c>resource</c>).</summary>
public static class AuthorizationRequestBuilder
{
    /// <summary>The authorization URL: the server's endpoint with the request parameters appended to any query it already has.</summary>
    /// <param name="server">The authorization server; it must have an <c>authorization_endpoint</c>.</param>
    /// <param name="clientId">The client identifier.</param>
    /// <param name="redirectUri">Gatehouse's redirect URI (the same string goes to the token request).</param>
    /// <param name="state">The state that binds the response to this request.</param>
    /// <param name="codeChallenge">The PKCE S256 challenge.</param>
    /// <param name="resource">The resource indicator, or null to omit it.</param>
    /// <param name="scope">The scope, or null to omit it.</param>
    /// <exception cref="OAuthProtocolException">
    /// The server has no authorization endpoint, or one that is neither https nor http on loopback (a browser must never
    /// be sent to another scheme, such as <c>javascript:</c>).
    /// </exception>
    public static Uri Build(
        AuthorizationServerMetadata server, string clientId, Uri redirectUri, string state, string codeChallenge, string? resource, string? scope)
    {
        var endpoint = server.AuthorizationEndpoint ?? throw new OAuthProtocolException(
            $"The authorization server {server.Issuer} advertises no authorization_endpoint, so no person can authorize there; " +
            "use the client_credentials grant if the upstream supports it.");
        if (!endpoint.IsAbsoluteUri
            || !(endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && IsLoopback(endpoint))))
        {
            throw new OAuthProtocolException(
                $"The authorization endpoint of {server.Issuer} is not an https URL; Gatehouse only sends browsers to https (or http on loopback).");
        }

        var parameters = new List<KeyValuePair<string, string>>
        {
            new("response_type", "code"),
            new("client_id", clientId),
            new("redirect_uri", redirectUri.ToString()),
            new("state", state),
            new("code_challenge", codeChallenge),
            new("code_challenge_method", Pkce.MethodS256),
        };
        if (!string.IsNullOrEmpty(scope))
        {
            parameters.Add(new("scope", scope));
        }

        if (!string.IsNullOrEmpty(resource))
        {
            parameters.Add(new("resource", resource));
        }

        var query = new StringBuilder(endpoint.Query.TrimStart('?'));
        foreach (var (name, value) in parameters)
        {
            if (query.Length > 0)
            {
                query.Append('&');
            }

            query.Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        // The endpoint's own query is kept as is; a fragment is dropped (RFC 6749 §3.1 forbids one).
        var builder = new UriBuilder(endpoint) { Query = query.ToString(), Fragment = "" };
        return builder.Uri;
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));
}
