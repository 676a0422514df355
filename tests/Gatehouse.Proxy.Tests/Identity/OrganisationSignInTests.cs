using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Identity.Users;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Proxy.Tests.UpstreamOAuth;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Testing;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// People sign in to Gatehouse through the organisation's OpenID Connect provider (npm <c>oidc-provider</c>, which nobody
/// here wrote), in a headless browser: Gatehouse login → provider → Gatehouse callback → authorize → consent → code →
/// token → a tool call through Gatehouse.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed partial class OrganisationSignInTests
{
    private const string Server = "alpha";

    [Fact]
    public async Task First_sign_in_creates_the_user_with_groups_and_the_token_calls_a_tool_and_a_second_sign_in_updates_the_groups()
    {
        await using var world = await OrganisationWorld.StartAsync();
        await world.ConfigureAsync();
        await world.Provider.SetAccountAsync(new { sub = "u-1001", name = "Alice Liddell", email = "alice@example.com", groups = new[] { "engineering", "oncall" } });

        using (var driver = new OAuthClientDriver(world.Gateway))
        {
            var tokens = await world.SignInAsync(driver);
            await using var client = await world.Gateway.ConnectAsync(Server, tokens.GetProperty("access_token").GetString()!);
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "through the organisation's sign-in" });
            Assert.NotEqual(true, result.IsError);
        }

        var user = await world.SingleUserAsync();
        Assert.Equal("oidc", user.Kind);
        Assert.Equal(world.Provider.Issuer.ToString().TrimEnd('/'), user.Issuer);
        Assert.Equal("u-1001", user.ExternalSubject);
        Assert.Equal("Alice Liddell", user.DisplayName);
        Assert.Equal("alice@example.com", user.Email);
        Assert.Equal("""["engineering","oncall"]""", user.GroupsJson);
        Assert.NotNull(user.LastSignInAt);

        var (code, output, error) = await world.Gateway.CliAsync("user", "list", "--json");
        Assert.True(code == 0, error);
        var listed = JsonDocument.Parse(output).RootElement.EnumerateArray().Single();
        Assert.Equal(["engineering", "oncall"], listed.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));

        // Another browser, the same person, new groups at the provider (one group, as a single string).
        await world.Provider.SetAccountAsync(new { sub = "u-1001", name = "Alice Liddell", email = "alice@example.com", groups = "platform" });
        using (var again = new OAuthClientDriver(world.Gateway))
        {
            await world.SignInAsync(again);
        }

        var updated = await world.SingleUserAsync();
        Assert.Equal(user.Id, updated.Id);
        Assert.Equal("""["platform"]""", updated.GroupsJson);

        (code, output, _) = await world.Gateway.CliAsync("user", "list");
        Assert.True(code == 0);
        Assert.Contains("platform", output, StringComparison.Ordinal);

        await using var db = world.Storage.CreateContext();
        var created = await db.AuditEvents.SingleAsync(e => e.Action == "user.create");
        Assert.Contains(user.Id.ToString("N"), created.Target, StringComparison.Ordinal);
        Assert.Contains("engineering, oncall", created.Details, StringComparison.Ordinal);
        var changed = await db.AuditEvents.SingleAsync(e => e.Action == "user.groups");
        Assert.Contains("engineering, oncall -> platform", changed.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_client_secret_gives_a_clear_error_page_and_creates_no_user()
    {
        await using var world = await OrganisationWorld.StartAsync();
        const string WrongSecret = "not-the-secret-the-provider-issued";
        await world.ConfigureAsync(secret: WrongSecret);
        await world.Provider.SetAccountAsync(new { sub = "u-2002", name = "Bob" });

        using var driver = new OAuthClientDriver(world.Gateway);
        using var response = await world.FollowProviderLinkAsync(driver);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Signing in with Acme SSO failed", page, StringComparison.Ordinal);
        Assert.Contains("invalid_client", page, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongSecret, page, StringComparison.Ordinal);
        Assert.DoesNotContain(world.ClientSecret, page, StringComparison.Ordinal);
        Assert.Equal(0, await world.UserCountAsync());
    }

    [Fact]
    public async Task A_tampered_state_is_refused_and_creates_no_user()
    {
        await using var world = await OrganisationWorld.StartAsync();
        await world.ConfigureAsync();
        await world.Provider.SetAccountAsync(new { sub = "u-3003", name = "Carol" });

        using var driver = new OAuthClientDriver(world.Gateway);
        var link = await world.ProviderLinkAsync(driver);
        using var atCallback = await OrganisationWorld.FollowAsync(driver.Browser, link, next => next.AbsolutePath == "/oauth2/login/oidc/callback");
        var callback = new Uri(link, atCallback.Headers.Location!);
        var state = OAuthClientDriver.Query(callback, "state")!;
        var tampered = new Uri(callback.ToString().Replace(Uri.EscapeDataString(state), Uri.EscapeDataString(state[..^4] + "AAAA"), StringComparison.Ordinal));

        using var response = await driver.Browser.GetAsync(tampered);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Signing in with Acme SSO failed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await world.UserCountAsync());
    }

    [Fact]
    public async Task After_the_provider_the_browser_returns_only_to_gatehouse_own_pages()
    {
        await using var world = await OrganisationWorld.StartAsync();
        await world.ConfigureAsync();
        await world.Provider.SetAccountAsync(new { sub = "u-6006", name = "Frank" });

        using var driver = new OAuthClientDriver(world.Gateway);
        var start = new Uri(world.Gateway.BaseUri, "oauth2/login/oidc?returnUrl=" + Uri.EscapeDataString("https://evil.example/steal"));
        using var atCallback = await OrganisationWorld.FollowAsync(driver.Browser, start, next => next.AbsolutePath == "/oauth2/login/oidc/callback");
        using var signedIn = await driver.Browser.GetAsync(new Uri(start, atCallback.Headers.Location!));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/oauth2/authorize", signedIn.Headers.Location!.OriginalString);
        Assert.Contains("You are signed in as <strong>Frank</strong>", await world.LoginPageAsync(driver), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_user_is_refused_at_sign_in_and_their_login_cookie_stops_working_at_once()
    {
        await using var world = await OrganisationWorld.StartAsync();
        await world.ConfigureAsync();
        await world.Provider.SetAccountAsync(new { sub = "u-4004", name = "Dave" });

        using var driver = new OAuthClientDriver(world.Gateway);
        await world.SignInAsync(driver);
        Assert.Contains("You are signed in as <strong>Dave</strong>", await world.LoginPageAsync(driver), StringComparison.Ordinal);

        var (code, _, error) = await world.Gateway.CliAsync("user", "offboard", "Dave");
        Assert.True(code == 0, error);

        // The cookie is still in the jar, and no page accepts it any more: the login page and the authorization endpoint both treat the browser as signed out.
        Assert.DoesNotContain("You are signed in as", await world.LoginPageAsync(driver), StringComparison.Ordinal);
        var clientId = await driver.RegisterAsync();
        using (var authorize = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), OAuthClientDriver.Pkce().Challenge)))
        {
            Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
            Assert.StartsWith("/oauth2/login?", authorize.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        // Signing in again through the provider is refused with a page saying why.
        using var fresh = new OAuthClientDriver(world.Gateway);
        using var refused = await world.FollowProviderLinkAsync(fresh);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("disabled", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(fresh.Cookies.GetAllCookies(), c => c.Name == "gatehouse-session" && !c.Expired && c.Value.Length > 0);
    }

    [Fact]
    public async Task A_login_cookie_survives_a_gateway_restart_and_the_stored_keys_are_sealed()
    {
        await using var world = await OrganisationWorld.StartAsync();
        await world.ConfigureAsync();
        await world.Provider.SetAccountAsync(new { sub = "u-5005", name = "Erin" });
        using var before = new OAuthClientDriver(world.Gateway);
        await world.SignInAsync(before);

        await world.RestartGatewayAsync();

        using var after = new OAuthClientDriver(world.Gateway, before.Cookies);
        Assert.Contains("You are signed in as <strong>Erin</strong>", await world.LoginPageAsync(after), StringComparison.Ordinal);
        var clientId = await after.RegisterAsync();
        using (var consent = await after.Browser.GetAsync(after.AuthorizeUrl(clientId, after.Resource(Server), OAuthClientDriver.Pkce().Challenge)))
        {
            Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
            Assert.Contains("as Erin?", await consent.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await using var db = world.Storage.CreateContext();
        var keys = await db.DataProtectionKeys.ToListAsync();
        Assert.NotEmpty(keys);
        Assert.All(keys, k =>
        {
            Assert.StartsWith("gv1.", k.XmlSealed, StringComparison.Ordinal);
            Assert.DoesNotContain("<key", k.XmlSealed, StringComparison.Ordinal);
        });
        Assert.DoesNotContain(world.ClientSecret, (await db.Settings.SingleAsync(s => s.Key == LoginProviderSettings.Key)).Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_provider_set_validates_its_input_never_shows_the_secret_and_remove_takes_the_button_away()
    {
        await using var world = await OrganisationWorld.StartAsync();
        var (code, _, error) = await world.Gateway.CliAsync("login-provider", "set", "--issuer", "http://login.example.com", "--client-id", "gatehouse", "--client-secret-env", world.SecretVariable);
        Assert.Equal(1, code);
        Assert.Contains("must use https", error, StringComparison.Ordinal);

        (code, _, error) = await world.Gateway.CliAsync("login-provider", "set", "--issuer", world.Provider.Issuer.ToString(), "--client-id", "gatehouse", "--client-secret-env", world.SecretVariable);
        Assert.Equal(1, code);
        Assert.Contains("--allow-loopback", error, StringComparison.Ordinal);

        (code, _, error) = await world.Gateway.CliAsync("login-provider", "set", "--issuer", "https://login.example.com", "--client-id", "gatehouse");
        Assert.Equal(2, code);
        Assert.Contains("--client-secret-env", error, StringComparison.Ordinal);

        (code, _, error) = await world.Gateway.CliAsync("login-provider", "set", "--issuer", "https://login.example.com", "--client-id", "gatehouse", "--client-secret-env", "GATEHOUSE_TEST_UNSET_VARIABLE");
        Assert.Equal(2, code);
        Assert.Contains("not set or empty", error, StringComparison.Ordinal);

        await world.ConfigureAsync();
        (code, var output, error) = await world.Gateway.CliAsync("login-provider", "show", "--json");
        Assert.True(code == 0, error);
        Assert.DoesNotContain(world.ClientSecret, output, StringComparison.Ordinal);
        var shown = JsonDocument.Parse(output).RootElement;
        Assert.Equal("sealed", shown.GetProperty("clientSecret").GetString());
        Assert.Equal("groups", shown.GetProperty("groupsClaim").GetString());
        Assert.EndsWith("/oauth2/login/oidc/callback", shown.GetProperty("redirectUri").GetString(), StringComparison.Ordinal);

        using var driver = new OAuthClientDriver(world.Gateway);
        Assert.Contains("Sign in with Acme SSO", await world.LoginPageAsync(driver), StringComparison.Ordinal);
        (code, output, error) = await world.Gateway.CliAsync("login-provider", "remove");
        Assert.True(code == 0, error);
        Assert.Contains("no restart needed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Sign in with", await world.LoginPageAsync(driver), StringComparison.Ordinal);
        using var start = await driver.Browser.GetAsync("oauth2/login/oidc");
        Assert.Equal(HttpStatusCode.NotFound, start.StatusCode);
    }

    [Fact]
    public void Groups_are_read_from_an_array_a_single_string_or_a_json_array_text()
    {
        Assert.Equal(["a", "b"], OrganisationIdentity.ParseGroups(["b", "a", "a"]));
        Assert.Equal(["solo"], OrganisationIdentity.ParseGroups(["solo"]));
        Assert.Equal(["x", "y"], OrganisationIdentity.ParseGroups(["""["y","x"]""", "x"]));
        Assert.Equal(["[not json"], OrganisationIdentity.ParseGroups(["[not json"]));
        Assert.Empty(OrganisationIdentity.ParseGroups([" ", "[]"]));
    }

    /// <summary>The provider, an upstream, a gateway, and Gatehouse's confidential client at the provider.</summary>
    private sealed partial class OrganisationWorld : IAsyncDisposable
    {
        private readonly string _dataDirectory;

        private OrganisationWorld(OidcProvider provider, TestUpstream upstream, GatewayHarness gateway, string dataDirectory)
        {
            Provider = provider;
            Upstream = upstream;
            Gateway = gateway;
            _dataDirectory = dataDirectory;
        }

        public OidcProvider Provider { get; }

        public TestUpstream Upstream { get; }

        public GatewayHarness Gateway { get; private set; }

        public GatehouseStorage Storage => new(_dataDirectory);

        public string ClientId { get; private set; } = "";

        public string ClientSecret { get; private set; } = "";

        /// <summary>The environment variable <c>login-provider set</c> reads the secret from (one per world: tests run in one process).</summary>
        public string SecretVariable { get; } = $"GATEHOUSE_TEST_IDP_SECRET_{Guid.NewGuid():N}";

        public static async Task<OrganisationWorld> StartAsync()
        {
            var provider = await OidcProvider.StartAsync(identityClaims: true);
            var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
            var dataDirectory = Directory.CreateTempSubdirectory("gatehouse-test-").FullName;
            var gateway = await GatewayHarness.StartAsync(dataDirectory: dataDirectory, keepData: true);
            var world = new OrganisationWorld(provider, upstream, gateway, dataDirectory);
            await gateway.AddServerAsync(Server, upstream.McpUri);
            (world.ClientId, world.ClientSecret) = await provider.RegisterConfidentialClientAsync(new Uri(gateway.BaseUri, "oauth2/login/oidc/callback"));
            Environment.SetEnvironmentVariable(world.SecretVariable, world.ClientSecret);
            return world;
        }

        /// <summary>Configures the provider through the CLI (as an admin would, against the running gateway), with the real secret unless told otherwise.</summary>
        public async Task ConfigureAsync(string? secret = null)
        {
            Environment.SetEnvironmentVariable(SecretVariable, secret ?? ClientSecret);
            var (code, output, error) = await Gateway.CliAsync("login-provider", "set", "--issuer", Provider.Issuer.ToString().TrimEnd('/'), "--client-id", ClientId,
                "--client-secret-env", SecretVariable, "--scopes", "groups", "--name", "Acme SSO", "--allow-loopback");
            Assert.True(code == 0, error);
            Assert.DoesNotContain(secret ?? ClientSecret, output + error, StringComparison.Ordinal);
        }

        /// <summary>A restart on the same data directory (and a new port).</summary>
        public async Task RestartGatewayAsync()
        {
            await Gateway.DisposeAsync();
            Gateway = await GatewayHarness.StartAsync(dataDirectory: _dataDirectory, keepData: true);
        }

        public async Task<string> LoginPageAsync(OAuthClientDriver driver)
        {
            using var response = await driver.Browser.GetAsync(new Uri(Gateway.BaseUri, "oauth2/login"));
            return await response.Content.ReadAsStringAsync();
        }

        /// <summary>An MCP client's authorization request, up to the login page; returns the page's "Sign in with …" link.</summary>
        public async Task<Uri> ProviderLinkAsync(OAuthClientDriver driver) => (await StartAuthorizationAsync(driver, OAuthClientDriver.Pkce().Challenge)).Link;

        /// <summary>Follows the login page's provider link through the provider and back to Gatehouse, until a page.</summary>
        public async Task<HttpResponseMessage> FollowProviderLinkAsync(OAuthClientDriver driver) => await FollowAsync(driver.Browser, await ProviderLinkAsync(driver));

        /// <summary>The whole flow: login through the provider, consent, code exchange; returns the token response.</summary>
        public async Task<JsonElement> SignInAsync(OAuthClientDriver driver)
        {
            var (verifier, challenge) = OAuthClientDriver.Pkce();
            var (clientId, link) = await StartAuthorizationAsync(driver, challenge);
            using var consent = await FollowAsync(driver.Browser, link);
            var consentPage = await consent.Content.ReadAsStringAsync();
            Assert.True(consent.StatusCode == HttpStatusCode.OK && consentPage.Contains("Allow", StringComparison.Ordinal), $"{consent.StatusCode}: {consentPage}");
            var fields = OAuthClientDriver.HiddenFields(consentPage);
            fields.Add(KeyValuePair.Create("consent", "accept"));
            using var approved = await driver.Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
            Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);
            var (status, tokens) = await driver.ExchangeAsync(clientId, OAuthClientDriver.Query(approved.Headers.Location!, "code")!, verifier, driver.Resource(Server));
            Assert.True(status == HttpStatusCode.OK, tokens.ToString());
            return tokens;
        }

        private async Task<(string ClientId, Uri Link)> StartAuthorizationAsync(OAuthClientDriver driver, string challenge)
        {
            var clientId = await driver.RegisterAsync();
            using var login = await FollowAsync(driver.Browser, new Uri(Gateway.BaseUri, driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge)));
            var page = await login.Content.ReadAsStringAsync();
            Assert.Contains("Sign in with Acme SSO", page, StringComparison.Ordinal);
            return (clientId, new Uri(Gateway.BaseUri, WebUtility.HtmlDecode(ProviderLink().Match(page).Groups[1].Value)));
        }

        /// <summary>GETs <paramref name="url"/> and follows redirects (across hosts, with the jar) until a page, the MCP client's redirect URI, or a hop <paramref name="stopBefore"/> picks.</summary>
        public static async Task<HttpResponseMessage> FollowAsync(HttpClient browser, Uri url, Func<Uri, bool>? stopBefore = null)
        {
            var response = await browser.GetAsync(url);
            for (var hops = 0; (int)response.StatusCode is >= 300 and < 400 && hops < 20; hops++)
            {
                var next = new Uri(url, response.Headers.Location!);
                if (next.ToString().StartsWith(OAuthClientDriver.RedirectUri, StringComparison.Ordinal) || stopBefore?.Invoke(next) == true)
                {
                    return response;
                }

                response.Dispose();
                url = next;
                response = await browser.GetAsync(url);
            }

            return response;
        }

        public async Task<UserRecordView> SingleUserAsync()
        {
            await using var db = Storage.CreateContext();
            var user = await db.Users.AsNoTracking().SingleAsync();
            return new UserRecordView(user.Id, user.Kind, user.Issuer, user.ExternalSubject, user.DisplayName, user.Email, user.GroupsJson, user.LastSignInAt);
        }

        public async Task<int> UserCountAsync()
        {
            await using var db = Storage.CreateContext();
            return await db.Users.CountAsync();
        }

        public async ValueTask DisposeAsync()
        {
            Environment.SetEnvironmentVariable(SecretVariable, null);
            await Gateway.DisposeAsync();
            await Upstream.DisposeAsync();
            await Provider.DisposeAsync();
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        [GeneratedRegex("<a class=\"provider\" href=\"([^\"]*)\"")]
        private static partial Regex ProviderLink();
    }

    private sealed record UserRecordView(
        Guid Id, string Kind, string? Issuer, string? ExternalSubject, string DisplayName, string? Email, string GroupsJson, DateTimeOffset? LastSignInAt);
}
