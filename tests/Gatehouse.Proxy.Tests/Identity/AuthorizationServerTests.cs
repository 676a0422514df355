using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Identity;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// Gatehouse as the OAuth 2.1 authorization server of MCP clients, through the real HTTP pipeline: a real gateway on
/// 127.0.0.1:0 and a real upstream behind it.
/// </summary>
public sealed class AuthorizationServerTests
{
    private const string ServerA = "alpha";
    private const string ServerB = "beta";

    private static Task<IdentityWorld> StartAsync() => IdentityWorld.StartAsync(ServerA, ServerB);

    [Fact]
    public async Task Metadata_advertises_S256_registration_revocation_and_iss_and_protected_resources_point_at_Gatehouse()
    {
        await using var world = await StartAsync();
        var gateway = world.Gateway;

        foreach (var path in new[] { ".well-known/oauth-authorization-server", ".well-known/openid-configuration" })
        {
            var metadata = await gateway.Http.GetFromJsonAsync<JsonElement>(path);
            Assert.Equal(gateway.BaseUri.ToString(), metadata.GetProperty("issuer").GetString());
            Assert.Equal(["S256"], metadata.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(new Uri(gateway.BaseUri, "oauth2/register").ToString(), metadata.GetProperty("registration_endpoint").GetString());
            Assert.Equal(new Uri(gateway.BaseUri, "oauth2/revoke").ToString(), metadata.GetProperty("revocation_endpoint").GetString());
            Assert.Equal(new Uri(gateway.BaseUri, "oauth2/authorize").ToString(), metadata.GetProperty("authorization_endpoint").GetString());
            Assert.True(metadata.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());
        }

        // Browser-based clients may call registration (and discovery, token, revocation) from their own origin.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "oauth2/register");
        preflight.Headers.Add("Origin", "http://localhost:6274");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var preflighted = await gateway.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflighted.StatusCode);
        Assert.Equal("*", preflighted.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var prm = await gateway.Http.GetFromJsonAsync<JsonElement>($".well-known/oauth-protected-resource/mcp/{ServerA}");
        Assert.Equal([gateway.BaseUri.ToString()], prm.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(gateway.McpUri(ServerA).ToString(), prm.GetProperty("resource").GetString());
    }

    [Theory]
    [InlineData("https://app.example.com/callback", true)]
    [InlineData("http://127.0.0.1:51234/callback", true)]
    [InlineData("http://localhost/cb", true)]
    [InlineData("http://[::1]:9/cb", true)]
    [InlineData("cursor://anysphere.cursor-retrieval/oauth/callback", true)]
    [InlineData("http://app.example.com/callback", false)]
    [InlineData("http://127.0.0.2.nip.io/cb", false)]
    [InlineData("https://app.example.com/cb#fragment", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("myapp://callback", false)]
    [InlineData("/relative", false)]
    public void Redirect_uris_are_https_loopback_http_or_an_allowed_custom_scheme(string uri, bool allowed)
    {
        var problem = Gatehouse.Identity.Registration.RedirectUriRules.Check(uri, new AuthorizationServerOptions().AllowedRedirectSchemes);
        Assert.True((problem is null) == allowed, problem ?? "allowed");
    }

    [Fact]
    public async Task Registration_refuses_bad_metadata_and_returns_a_secret_only_to_confidential_clients()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);

        using (var refused = await driver.RegisterRawAsync(new { redirect_uris = new[] { "http://evil.example.com/cb" }, token_endpoint_auth_method = "none" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_redirect_uri", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        using (var refused = await driver.RegisterRawAsync(new { redirect_uris = new[] { OAuthClientDriver.RedirectUri }, grant_types = new[] { "password" } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_client_metadata", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        using (var refused = await driver.RegisterRawAsync(new { client_name = "no redirect" }))
        {
            Assert.Equal("invalid_redirect_uri", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        using var publicClient = await driver.RegisterRawAsync(new { redirect_uris = new[] { OAuthClientDriver.RedirectUri }, token_endpoint_auth_method = "none", client_name = "Public" });
        var publicBody = await publicClient.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.Created, publicClient.StatusCode);
        Assert.False(publicBody.TryGetProperty("client_secret", out var _));
        Assert.Equal("none", publicBody.GetProperty("token_endpoint_auth_method").GetString());

        using var confidential = await driver.RegisterRawAsync(new { redirect_uris = new[] { "https://app.example.com/cb" }, client_name = "Web app" });
        var confidentialBody = await confidential.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.Created, confidential.StatusCode);
        Assert.Equal("client_secret_basic", confidentialBody.GetProperty("token_endpoint_auth_method").GetString());
        Assert.False(string.IsNullOrEmpty(confidentialBody.GetProperty("client_secret").GetString()));
    }

    [Fact]
    public async Task The_full_flow_issues_an_audience_bound_token_that_works_on_its_server_and_is_refused_on_another()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);

        var clientId = await driver.RegisterAsync();
        var (verifier, challenge) = OAuthClientDriver.Pkce();
        var callback = await driver.AuthorizeAsync(clientId, driver.Resource(ServerA), challenge);
        Assert.Equal("st4te", OAuthClientDriver.Query(callback, "state"));
        Assert.Equal(driver.Issuer, OAuthClientDriver.Query(callback, "iss"));

        var (status, tokens) = await driver.ExchangeAsync(clientId, OAuthClientDriver.Query(callback, "code")!, verifier, driver.Resource(ServerA));
        Assert.True(status == HttpStatusCode.OK, tokens.ToString());
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        Assert.True(tokens.GetProperty("expires_in").GetInt32() <= 15 * 60);
        Assert.True(tokens.TryGetProperty("refresh_token", out var _));

        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(ServerA, accessToken));

        using var onB = await gateway.PostAsync(ServerB, accessToken, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, onB.StatusCode);
        Assert.Equal("GH1009", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(onB)));
        Assert.StartsWith("Bearer resource_metadata=\"", onB.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        // A token that is not one Gatehouse signed is refused as such.
        var forged = accessToken[..^4] + (accessToken[^4..] == "AAAA" ? "BBBB" : "AAAA");
        using var forgedResponse = await gateway.PostAsync(ServerA, forged, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, forgedResponse.StatusCode);
        Assert.Equal("GH1007", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(forgedResponse)));

        // The approval is remembered: the second sign-in of the same client for the same server skips the consent page.
        var (_, secondChallenge) = OAuthClientDriver.Pkce();
        using var again = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(ServerA), secondChallenge));
        Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        Assert.StartsWith(OAuthClientDriver.RedirectUri, again.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.NotNull(OAuthClientDriver.Query(again.Headers.Location!, "code"));

        // ...but another server needs its own approval.
        using var other = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(ServerB), secondChallenge));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Contains(ServerB, await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // prompt=none never shows a page: it answers consent_required, or login_required for a browser not signed in.
        using var silent = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(ServerB), secondChallenge) + "&prompt=none");
        Assert.Equal("consent_required", OAuthClientDriver.Query(silent.Headers.Location!, "error"));
        using var stranger = new OAuthClientDriver(gateway);
        using var anonymous = await stranger.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(ServerA), secondChallenge) + "&prompt=none");
        Assert.Equal("login_required", OAuthClientDriver.Query(anonymous.Headers.Location!, "error"));
    }

    [Fact]
    public async Task A_token_request_for_another_resource_than_the_approved_one_is_refused()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);

        var clientId = await driver.RegisterAsync();
        var (verifier, challenge) = OAuthClientDriver.Pkce();
        var callback = await driver.AuthorizeAsync(clientId, driver.Resource(ServerA), challenge);
        var (status, body) = await driver.ExchangeAsync(clientId, OAuthClientDriver.Query(callback, "code")!, verifier, driver.Resource(ServerB));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_target", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Authorization_without_PKCE_or_with_plain_PKCE_or_without_a_known_resource_is_refused()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var clientId = await driver.RegisterAsync();
        var (verifier, _) = OAuthClientDriver.Pkce();

        foreach (var url in new[]
                 {
                     driver.AuthorizeUrl(clientId, driver.Resource(ServerA), challenge: null),
                     driver.AuthorizeUrl(clientId, driver.Resource(ServerA), verifier, method: "plain"),
                     driver.AuthorizeUrl(clientId, resource: null, verifier[..43]),
                     driver.AuthorizeUrl(clientId, "https://elsewhere.example.com/mcp/alpha", verifier[..43]),
                 })
        {
            // OpenIddict shows PKCE errors to the person (400) before looking at the redirect URI; the resource check redirects
            // the error to the client. Either way no code is issued.
            using var response = await driver.Browser.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.BadRequest)
            {
                Assert.Contains("error:invalid_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                continue;
            }

            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            var location = response.Headers.Location!;
            Assert.StartsWith(OAuthClientDriver.RedirectUri, location.ToString(), StringComparison.Ordinal);
            Assert.Null(OAuthClientDriver.Query(location, "code"));
            Assert.Equal("invalid_target", OAuthClientDriver.Query(location, "error"));
        }
    }

    [Fact]
    public async Task An_unknown_client_gets_invalid_client_at_the_token_endpoint_and_is_not_redirected_at_authorize()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var (verifier, challenge) = OAuthClientDriver.Pkce();

        var (status, body) = await driver.ExchangeAsync("ghc_unknown", "code", verifier, driver.Resource(ServerA));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());

        // The redirect URI of an unknown client cannot be trusted, so the error is shown, never redirected.
        using var response = await driver.Browser.GetAsync(driver.AuthorizeUrl("ghc_unknown", driver.Resource(ServerA), challenge));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_client", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refresh_tokens_rotate_and_a_reused_one_revokes_the_whole_family()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var (clientId, tokens) = await driver.SignInForAsync(ServerA);
        var first = tokens.GetProperty("refresh_token").GetString()!;

        var (status, rotated) = await driver.RefreshAsync(clientId, first, driver.Resource(ServerA));
        Assert.True(status == HttpStatusCode.OK, rotated.ToString());
        var second = rotated.GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(ServerA, rotated.GetProperty("access_token").GetString()!));

        // The first refresh token is replayed (stolen): it is refused, and so is the newest one of its family.
        var (replayStatus, replay) = await driver.RefreshAsync(clientId, first, driver.Resource(ServerA));
        Assert.Equal(HttpStatusCode.BadRequest, replayStatus);
        Assert.Equal("invalid_grant", replay.GetProperty("error").GetString());

        var (afterStatus, after) = await driver.RefreshAsync(clientId, second, driver.Resource(ServerA));
        Assert.Equal(HttpStatusCode.BadRequest, afterStatus);
        Assert.Equal("invalid_grant", after.GetProperty("error").GetString());

        // The family's access tokens die with it at once, though still unexpired and validly signed.
        using var refused = await gateway.PostAsync(ServerA, rotated.GetProperty("access_token").GetString()!, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("GH1011", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
    }

    [Fact]
    public async Task An_access_token_revoked_by_its_client_is_refused_on_the_next_request()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var (clientId, tokens) = await driver.SignInForAsync(ServerA);
        var access = tokens.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(ServerA, access));

        using var revoked = await driver.Http.PostAsync("oauth2/revoke", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = access, ["token_type_hint"] = "access_token", ["client_id"] = clientId,
        }));
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        using var refused = await gateway.PostAsync(ServerA, access, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("GH1011", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        Assert.Contains("error=\"invalid_token\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        // A fresh sign-in of the same client works again.
        var (_, again) = await driver.SignInForAsync(ServerA);
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(ServerA, again.GetProperty("access_token").GetString()!));
    }

    [Fact]
    public async Task A_revoked_refresh_token_no_longer_works()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var (clientId, tokens) = await driver.SignInForAsync(ServerA);
        var refresh = tokens.GetProperty("refresh_token").GetString()!;

        using var revoked = await driver.Http.PostAsync("oauth2/revoke", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = refresh, ["token_type_hint"] = "refresh_token", ["client_id"] = clientId,
        }));
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        var (status, body) = await driver.RefreshAsync(clientId, refresh, driver.Resource(ServerA));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Consent_posted_without_the_antiforgery_token_is_refused_and_pages_cannot_be_framed()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);
        var clientId = await driver.RegisterAsync();
        var (_, challenge) = OAuthClientDriver.Pkce();

        using var toLogin = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(ServerA), challenge));
        Assert.Equal(HttpStatusCode.Redirect, toLogin.StatusCode);
        using var loginPage = await driver.Browser.GetAsync(toLogin.Headers.Location);
        Assert.Contains("frame-ancestors 'none'", loginPage.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // The login form itself needs its antiforgery token.
        using var forgedLogin = await driver.Browser.PostAsync("oauth2/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = driver.AdminToken }));
        Assert.Equal(HttpStatusCode.BadRequest, forgedLogin.StatusCode);

        using var signedIn = await driver.SignInAsync(toLogin.Headers.Location!);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var sessionCookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gatehouse-session=", StringComparison.Ordinal));
        Assert.Contains("httponly", sessionCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", sessionCookie, StringComparison.OrdinalIgnoreCase);

        using var consent = await driver.Browser.GetAsync(signedIn.Headers.Location);
        var page = await consent.Content.ReadAsStringAsync();
        Assert.Contains("Test client", page, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:33418", page, StringComparison.Ordinal);
        Assert.Contains(ServerA, page, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", consent.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // A cross-site page that posts the same form (it can't read the antiforgery token) is refused, and nothing is issued.
        var fields = OAuthClientDriver.HiddenFields(page).Where(f => f.Key != "__RequestVerificationToken").ToList();
        fields.Add(KeyValuePair.Create("consent", "accept"));
        using var forged = await driver.Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        // The real form still works afterwards.
        var real = OAuthClientDriver.HiddenFields(page);
        real.Add(KeyValuePair.Create("consent", "accept"));
        using var accepted = await driver.Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(real));
        Assert.Equal(HttpStatusCode.Redirect, accepted.StatusCode);
        Assert.NotNull(OAuthClientDriver.Query(accepted.Headers.Location!, "code"));
    }

    [Fact]
    public async Task A_wrong_admin_token_does_not_sign_in()
    {
        await using var world = await StartAsync();
        var (gateway, driver) = (world.Gateway, world.Driver);

        var page = await (await driver.Browser.GetAsync("oauth2/login?returnUrl=%2Foauth2%2Fauthorize%3Fx%3D1")).Content.ReadAsStringAsync();
        var fields = OAuthClientDriver.HiddenFields(page);
        fields.Add(KeyValuePair.Create("token", "gta_" + new string('A', 43)));
        using var response = await driver.Browser.PostAsync("oauth2/login", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("gatehouse-session=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Signing_keys_survive_a_restart_so_issued_tokens_stay_valid()
    {
        var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var _ = upstream;
        var dataDirectory = Directory.CreateTempSubdirectory("gatehouse-test-").FullName;
        string accessToken;
        string port;
        await using (var first = await GatewayHarness.StartAsync(dataDirectory: dataDirectory, keepData: true))
        {
            await AdminCredentials.EnsureAsync(new GatehouseStorage(dataDirectory), TimeProvider.System);
            await first.AddServerAsync(ServerA, upstream.McpUri);
            using var driver = new OAuthClientDriver(first);
            var (_, tokens) = await driver.SignInForAsync(ServerA);
            accessToken = tokens.GetProperty("access_token").GetString()!;
            port = first.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        // The issuer and audience contain the port, so the restarted gateway listens on the same one.
        await using var second = await GatewayHarness.StartAsync(dataDirectory: dataDirectory, urls: $"http://127.0.0.1:{port}");
        using var check = new OAuthClientDriver(second);
        Assert.Equal(HttpStatusCode.OK, await check.CallAsync(ServerA, accessToken));
    }
}
