using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// What people and admins can see and withdraw: the account page (a person's own approvals, grants and connections),
/// <c>gatehouse consent list|revoke</c>, and the admin API for users, consents and offboarding. Real gateway, real upstream.
/// </summary>
public sealed class AccountAndConsentTests
{
    private const string Server = "alpha";

    private static Task<IdentityWorld> StartAsync() => IdentityWorld.StartAsync(Server);

    private static async Task<OAuthClientDriver> LocalUserAsync(GatewayHarness gateway, string name)
    {
        var (code, output, error) = await gateway.CliAsync("user", "add", name);
        Assert.True(code == 0, error);
        return new OAuthClientDriver(gateway) { SignInToken = output.Trim().Split('\n')[^1].Trim() };
    }

    private static async Task<string> AccountPageAsync(OAuthClientDriver driver, string path = "account")
    {
        using var response = await driver.Browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Submits the account page's form for <paramref name="action"/> on <paramref name="id"/>, with the page's antiforgery token.</summary>
    private static async Task<HttpResponseMessage> PostAccountAsync(OAuthClientDriver driver, string page, string action, string id)
    {
        var antiforgery = OAuthClientDriver.HiddenFields(page).First(f => f.Key == "__RequestVerificationToken");
        return await driver.Browser.PostAsync("account", new FormUrlEncodedContent(
            [antiforgery, KeyValuePair.Create("action", action), KeyValuePair.Create("id", id)]));
    }

    [Fact]
    public async Task A_person_withdraws_their_own_approval_on_the_account_page_and_the_clients_refresh_token_stops_working()
    {
        await using var world = await StartAsync();
        using var alice = await LocalUserAsync(world.Gateway, "alice");
        var (clientId, tokens) = await alice.SignInForAsync(Server);

        var page = await AccountPageAsync(alice);
        Assert.Contains("Test client", page, StringComparison.Ordinal);
        Assert.Contains($"<code>{Server}</code>", page, StringComparison.Ordinal);
        var consentId = OAuthClientDriver.HiddenFields(page).Where(f => f.Key == "id").Select(f => f.Value).Single();

        using var withdrawn = await PostAccountAsync(alice, page, "revoke-consent", consentId);
        Assert.Equal(HttpStatusCode.Redirect, withdrawn.StatusCode);
        Assert.Equal("/account?notice=consent-revoked", withdrawn.Headers.Location!.ToString());
        Assert.Contains("Approval withdrawn", await AccountPageAsync(alice, withdrawn.Headers.Location.ToString().TrimStart('/')), StringComparison.Ordinal);
        Assert.Contains("You have not approved any client", await AccountPageAsync(alice), StringComparison.Ordinal);

        // The access token the client holds is refused at once, though unexpired.
        using (var refused = await world.Gateway.PostAsync(Server, tokens.GetProperty("access_token").GetString()!, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("GH1011", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        }

        var (status, body) = await alice.RefreshAsync(clientId, tokens.GetProperty("refresh_token").GetString()!, alice.Resource(Server));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());

        // The next sign-in of that client asks the person again.
        var (_, challenge) = OAuthClientDriver.Pkce();
        using var again = await alice.Browser.GetAsync(alice.AuthorizeUrl(clientId, alice.Resource(Server), challenge));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("Allow", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var (_, audit, _) = await world.Gateway.CliAsync("audit");
        Assert.Contains("client.consent.revoke", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_person_revokes_their_own_grant_on_the_account_page_but_cannot_touch_anyone_elses()
    {
        await using var world = await StartAsync();
        using var alice = await LocalUserAsync(world.Gateway, "alice");
        using var bob = await LocalUserAsync(world.Gateway, "bob");
        await alice.SignInForAsync(Server);
        var aliceGrant = await CreateOwnedGrantAsync(world.Gateway, "alice-laptop", "alice");
        var bobGrant = await CreateOwnedGrantAsync(world.Gateway, "bob-laptop", "bob");
        var (_, grants, _) = await world.Gateway.CliAsync("grant", "list", "--json");
        var bobGrantId = JsonDocument.Parse(grants).RootElement.EnumerateArray().First(g => g.GetProperty("label").GetString() == "bob-laptop").GetProperty("id").GetString()!;

        var page = await AccountPageAsync(alice);
        Assert.Contains("alice-laptop", page, StringComparison.Ordinal);
        Assert.DoesNotContain("bob-laptop", page, StringComparison.Ordinal);

        // Bob's grant id posted from alice's session: refused as not hers, and bob's grant keeps working.
        using var forged = await PostAccountAsync(alice, page, "revoke-grant", bobGrantId);
        Assert.Equal("/account?notice=not-found", forged.Headers.Location!.ToString());
        Assert.Equal(HttpStatusCode.OK, (await world.Gateway.PostAsync(Server, bobGrant, GatewayHarness.InitializeBody)).StatusCode);

        var aliceGrantId = OAuthClientDriver.HiddenFields(page).Where(f => f.Key == "id").Select(f => f.Value).Last();
        using var revoked = await PostAccountAsync(alice, page, "revoke-grant", aliceGrantId);
        Assert.Equal("/account?notice=grant-revoked", revoked.Headers.Location!.ToString());
        using var refused = await world.Gateway.PostAsync(Server, aliceGrant, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_account_page_needs_a_signed_in_person_and_its_forms_need_the_antiforgery_token()
    {
        await using var world = await StartAsync();
        using var alice = await LocalUserAsync(world.Gateway, "alice");

        using var anonymous = await alice.Browser.GetAsync("account");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/oauth2/login?returnUrl=%2Faccount", anonymous.Headers.Location!.ToString());
        using var signedIn = await alice.SignInAsync(new Uri(alice.Browser.BaseAddress!, anonymous.Headers.Location));
        Assert.Equal("/account", signedIn.Headers.Location!.ToString());

        await AccountPageAsync(alice);
        using var forged = await alice.Browser.PostAsync("account", new FormUrlEncodedContent(
            [KeyValuePair.Create("action", "revoke-consent"), KeyValuePair.Create("id", "anything")]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("cross-site request protection", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admins_list_and_withdraw_approvals_from_the_CLI_and_the_admin_API_and_offboard_through_the_API()
    {
        await using var world = await StartAsync();
        using var alice = await LocalUserAsync(world.Gateway, "alice");
        using var bob = await LocalUserAsync(world.Gateway, "bob");
        var (aliceClient, aliceTokens) = await alice.SignInForAsync(Server);
        var (bobClient, bobTokens) = await bob.SignInForAsync(Server);

        var (code, listed, error) = await world.Gateway.CliAsync("consent", "list", "--user", "alice", "--json");
        Assert.True(code == 0, error);
        var consent = Assert.Single(JsonDocument.Parse(listed).RootElement.EnumerateArray());
        Assert.Equal("alice", consent.GetProperty("user").GetString());
        Assert.Equal(Server, consent.GetProperty("server").GetString());
        Assert.Equal(aliceClient, consent.GetProperty("clientId").GetString());

        Assert.Equal(HttpStatusCode.OK, await alice.CallAsync(Server, aliceTokens.GetProperty("access_token").GetString()!));
        (code, _, error) = await world.Gateway.CliAsync("consent", "revoke", consent.GetProperty("id").GetString()!);
        Assert.True(code == 0, error);
        // Withdrawn by another process (the CLI): the running gateway refuses the access token on its next request.
        Assert.Equal(HttpStatusCode.Unauthorized, await alice.CallAsync(Server, aliceTokens.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.RefreshAsync(aliceClient, aliceTokens.GetProperty("refresh_token").GetString()!, alice.Resource(Server))).Status);
        (code, _, error) = await world.Gateway.CliAsync("consent", "revoke", consent.GetProperty("id").GetString()!);
        Assert.Equal(3, code);
        Assert.Contains("No valid approval", error, StringComparison.Ordinal);

        using var admin = new HttpClient { BaseAddress = world.Gateway.BaseUri };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", alice.AdminToken);
        var all = await admin.GetFromJsonAsync<JsonElement>("admin/api/consents");
        var bobConsent = Assert.Single(all.EnumerateArray());
        Assert.Equal("bob", bobConsent.GetProperty("user").GetString());
        using (var deleted = await admin.DeleteAsync($"admin/api/consents/{bobConsent.GetProperty("id").GetString()}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await bob.RefreshAsync(bobClient, bobTokens.GetProperty("refresh_token").GetString()!, bob.Resource(Server))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("admin/api/consents?user=nobody")).StatusCode);

        var users = await admin.GetFromJsonAsync<JsonElement>("admin/api/users");
        Assert.Contains(users.EnumerateArray(), u => u.GetProperty("name").GetString() == "bob");
        using var offboarded = await admin.PostAsync("admin/api/users/bob/offboard", null);
        Assert.Equal(HttpStatusCode.OK, offboarded.StatusCode);
        using var refused = await world.Gateway.PostAsync(Server, bobTokens.GetProperty("access_token").GetString()!, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("GH1010", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        using var unauthenticated = new HttpClient { BaseAddress = world.Gateway.BaseUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await unauthenticated.PostAsync("admin/api/users/alice/offboard", null)).StatusCode);
    }

    private static async Task<string> CreateOwnedGrantAsync(GatewayHarness gateway, string label, string owner)
    {
        var (code, output, error) = await gateway.CliAsync("grant", "create", "--label", label, "--server", Server, "--owner", owner);
        Assert.True(code == 0, error);
        return output.Split(['\n', ' '], StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("gth_", StringComparison.Ordinal));
    }
}
