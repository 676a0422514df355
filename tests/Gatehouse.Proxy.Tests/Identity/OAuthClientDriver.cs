using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Proxy.Tests.Infrastructure;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// Plays an MCP client and the person in its browser against Gatehouse's authorization server: registration, the
/// authorization request with PKCE, the login and consent forms (with a cookie jar, no automatic redirects), the code
/// exchange and refresh. Each step returns the raw response so tests can look at refusals.
/// </summary>
internal sealed partial class OAuthClientDriver : IDisposable
{
    public const string RedirectUri = "http://127.0.0.1:33418/callback";

    private readonly GatewayHarness _gateway;

    /// <param name="gateway">The gateway.</param>
    /// <param name="cookies">The browser's cookie jar, when it carries on from another driver (a restarted gateway).</param>
    public OAuthClientDriver(GatewayHarness gateway, CookieContainer? cookies = null)
    {
        _gateway = gateway;
        Cookies = cookies ?? new CookieContainer();
        Browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = Cookies, UseCookies = true })
        {
            BaseAddress = gateway.BaseUri,
        };
        Http = new HttpClient { BaseAddress = gateway.BaseUri };
    }

    /// <summary>The browser's cookie jar.</summary>
    public CookieContainer Cookies { get; }

    /// <summary>The browser: keeps cookies, never follows redirects by itself.</summary>
    public HttpClient Browser { get; }

    /// <summary>The client's back channel (token, registration, revocation).</summary>
    public HttpClient Http { get; }

    public string Issuer => _gateway.BaseUri.ToString();

    public string Resource(string server) => _gateway.McpUri(server).ToString();

    public string AdminToken => File.ReadAllText(Path.Combine(_gateway.DataDirectory, "admin.token")).Trim();

    /// <summary>What the person enters on the login page: a local user's one-time token (<c>gatehouse user add</c>), else the admin token.</summary>
    public string? SignInToken { get; init; }

    public async Task<HttpResponseMessage> RegisterRawAsync(object metadata) => await Http.PostAsJsonAsync("oauth2/register", metadata);

    public async Task<string> RegisterAsync(string name = "Test client", string redirectUri = RedirectUri)
    {
        using var response = await RegisterRawAsync(new { client_name = name, redirect_uris = new[] { redirectUri }, token_endpoint_auth_method = "none", grant_types = new[] { "authorization_code", "refresh_token" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;
    }

    public static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public string AuthorizeUrl(string clientId, string? resource, string? challenge, string method = "S256", string state = "st4te", string redirectUri = RedirectUri)
    {
        var query = new List<string>
        {
            "response_type=code", $"client_id={Uri.EscapeDataString(clientId)}", $"redirect_uri={Uri.EscapeDataString(redirectUri)}", $"state={state}", "scope=mcp",
        };
        if (resource is not null)
        {
            query.Add($"resource={Uri.EscapeDataString(resource)}");
        }

        if (challenge is not null)
        {
            query.Add($"code_challenge={challenge}");
            query.Add($"code_challenge_method={method}");
        }

        return "oauth2/authorize?" + string.Join('&', query);
    }

    /// <summary>Follows the authorization request through login and consent; returns the final redirect to the client.</summary>
    public async Task<Uri> AuthorizeAsync(string clientId, string resource, string challenge, bool approve = true)
    {
        var response = await Browser.GetAsync(AuthorizeUrl(clientId, resource, challenge));
        if (response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location!.ToString().Contains("/oauth2/login", StringComparison.Ordinal))
        {
            response = await SignInAsync(response.Headers.Location!);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            response = await Browser.GetAsync(response.Headers.Location);
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            var page = await response.Content.ReadAsStringAsync();
            Assert.Contains("Allow", page, StringComparison.Ordinal);
            var fields = HiddenFields(page);
            fields.Add(KeyValuePair.Create("consent", approve ? "accept" : "deny"));
            response = await Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
        }

        if (response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location is { IsAbsoluteUri: true } away
            && away.Authority != Browser.BaseAddress!.Authority && !away.ToString().StartsWith(RedirectUri, StringComparison.Ordinal))
        {
            // A per-user server's upstream consent, met during sign-in (linked sign-in).
            response = AtUpstream is null ? await DeclineUpstreamAsync(away) : await AtUpstream(Browser, away);
        }

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(RedirectUri, location.ToString(), StringComparison.Ordinal);
        return location;
    }

    /// <summary>
    /// How the person answers an upstream's authorization page met during sign-in: given the browser and the upstream
    /// authorization URL, returns Gatehouse's response once the browser is back. Null: the person declines at the upstream (it redirects back
    /// with <c>error=access_denied</c>) and then follows the callback page's "continue without connecting" link.
    /// </summary>
    public Func<HttpClient, Uri, Task<HttpResponseMessage>>? AtUpstream { get; init; }

    /// <summary>The page Gatehouse showed after the person declined an upstream consent during sign-in (null: none met).</summary>
    public string? DeclinedUpstreamPage { get; private set; }

    private async Task<HttpResponseMessage> DeclineUpstreamAsync(Uri upstreamAuthorization)
    {
        var callback = new UriBuilder(Query(upstreamAuthorization, "redirect_uri")!)
        {
            Query = $"error=access_denied&error_description=The+user+denied&state={Uri.EscapeDataString(Query(upstreamAuthorization, "state")!)}",
        };
        using var declined = await Browser.GetAsync(callback.Uri);
        DeclinedUpstreamPage = await declined.Content.ReadAsStringAsync();
        var link = ContinueLink().Match(DeclinedUpstreamPage);
        Assert.True(link.Success, DeclinedUpstreamPage);
        return await Browser.GetAsync(WebUtility.HtmlDecode(link.Groups[1].Value));
    }

    public async Task<HttpResponseMessage> SignInAsync(Uri loginLocation)
    {
        var page = await (await Browser.GetAsync(loginLocation)).Content.ReadAsStringAsync();
        var fields = HiddenFields(page);
        fields.Add(KeyValuePair.Create("token", SignInToken ?? AdminToken));
        return await Browser.PostAsync("oauth2/login", new FormUrlEncodedContent(fields));
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> TokenAsync(params (string Name, string Value)[] parameters)
    {
        using var response = await Http.PostAsync("oauth2/token", new FormUrlEncodedContent(parameters.Select(p => KeyValuePair.Create(p.Name, p.Value))));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    public Task<(HttpStatusCode Status, JsonElement Body)> ExchangeAsync(string clientId, string code, string verifier, string resource) => TokenAsync(
        ("grant_type", "authorization_code"), ("client_id", clientId), ("code", code), ("code_verifier", verifier), ("redirect_uri", RedirectUri), ("resource", resource));

    public Task<(HttpStatusCode Status, JsonElement Body)> RefreshAsync(string clientId, string refreshToken, string resource) => TokenAsync(
        ("grant_type", "refresh_token"), ("client_id", clientId), ("refresh_token", refreshToken), ("resource", resource));

    /// <summary>Registration, login, consent and code exchange in one go; returns the token response.</summary>
    public async Task<(string ClientId, JsonElement Tokens)> SignInForAsync(string server)
    {
        var clientId = await RegisterAsync();
        var (verifier, challenge) = Pkce();
        var location = await AuthorizeAsync(clientId, Resource(server), challenge);
        var (status, body) = await ExchangeAsync(clientId, Query(location, "code")!, verifier, Resource(server));
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return (clientId, body);
    }

    public async Task<HttpStatusCode> CallAsync(string server, string accessToken)
    {
        using var response = await _gateway.PostAsync(server, accessToken, GatewayHarness.InitializeBody);
        return response.StatusCode;
    }

    public static string? Query(Uri uri, string name) =>
        uri.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).Where(p => p[0] == name).Select(p => Uri.UnescapeDataString(p[1])).FirstOrDefault();

    public static List<KeyValuePair<string, string>> HiddenFields(string page) =>
        HiddenField().Matches(page).Select(m => KeyValuePair.Create(WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenField();

    [GeneratedRegex("<a href=\"([^\"]*)\">Continue signing in without connecting</a>")]
    private static partial Regex ContinueLink();

    public void Dispose()
    {
        Browser.Dispose();
        Http.Dispose();
    }
}
