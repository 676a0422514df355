using System.Net;
using System.Text.Json;
using Gatehouse.Proxy.Tests.Identity;
using Gatehouse.Proxy.Tests.Infrastructure;

namespace Gatehouse.Proxy.Tests.UpstreamOAuth;

/// <summary>
/// Per-user servers end to end: Gatehouse users signed in through Gatehouse's authorization server, each connecting
/// their own account at npm oidc-provider, with the upstream reporting whose token every call carried.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed class PerUserConnectionTests
{
    private const string Server = OAuthUpstreamFixture.Server;

    private const string ElicitingInitialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"url":{}}},"clientInfo":{"name":"raw","version":"1"}}}""";

    [Fact]
    public async Task A_client_declaring_url_elicitation_is_sent_to_the_connect_page_and_the_retried_call_carries_the_users_own_token()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, token) = await SignInAsync(world, "alice");
        using (alice)
        {
            using var refused = await world.Gateway.PostAsync(Server, token, ElicitingInitialize);
            Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
            var error = (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error");
            Assert.Equal(-32042, error.GetProperty("code").GetInt32());
            var elicitation = Assert.Single(error.GetProperty("data").GetProperty("elicitations").EnumerateArray());
            Assert.Equal("url", elicitation.GetProperty("mode").GetString());
            Assert.False(string.IsNullOrEmpty(elicitation.GetProperty("elicitationId").GetString()));
            Assert.False(string.IsNullOrEmpty(elicitation.GetProperty("message").GetString()));
            var url = elicitation.GetProperty("url").GetString()!;
            Assert.StartsWith(new Uri(world.Gateway.BaseUri, "oauth/connect/user/" + Server + "?ticket=").ToString(), url, StringComparison.Ordinal);
            Assert.DoesNotContain("alice", url, StringComparison.OrdinalIgnoreCase);

            var (status, page) = await FollowAsync(alice, url, world, loginHint: "alice-upstream");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains("now connected to", page, StringComparison.Ordinal);

            using var retried = await world.Gateway.PostAsync(Server, token, ElicitingInitialize);
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            Assert.True((await GatewayHarness.ReadJsonRpcAsync(retried)).TryGetProperty("result", out _));
            Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, token));
        }
    }

    [Fact]
    public async Task A_2026_07_28_client_gets_an_input_required_result_and_its_retry_succeeds_once_connected()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, token) = await SignInAsync(world, "alice");
        using (alice)
        {
            using var first = await PostStatelessWhoAmIAsync(world, token, id: 5, retryOf: null);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            var result = (await GatewayHarness.ReadJsonRpcAsync(first)).GetProperty("result");
            Assert.Equal("input_required", result.GetProperty("resultType").GetString());
            var input = Assert.Single(result.GetProperty("inputRequests").EnumerateObject()).Value;
            Assert.Equal("elicitation/create", input.GetProperty("method").GetString());
            Assert.Equal("url", input.GetProperty("params").GetProperty("mode").GetString());
            var url = input.GetProperty("params").GetProperty("url").GetString()!;
            Assert.StartsWith(new Uri(world.Gateway.BaseUri, "oauth/connect/user/" + Server + "?ticket=").ToString(), url, StringComparison.Ordinal);
            var requestState = result.GetProperty("requestState").GetString()!;

            var (status, page) = await FollowAsync(alice, url, world, "alice-upstream");
            Assert.True(status == HttpStatusCode.OK, page);

            using var retry = await PostStatelessWhoAmIAsync(world, token, id: 6, retryOf: requestState);
            var body = await GatewayHarness.ReadJsonRpcAsync(retry);
            Assert.True(body.TryGetProperty("result", out var retried), body.ToString());
            Assert.NotEqual("input_required", retried.TryGetProperty("resultType", out var type) ? type.GetString() : null);
            var text = retried.GetProperty("content")[0].GetProperty("text").GetString()!;
            Assert.Equal("alice-upstream", JsonDocument.Parse(text).RootElement.GetProperty("sub").GetString());
        }
    }

    private static Task<HttpResponseMessage> PostStatelessWhoAmIAsync(OAuthUpstreamFixture world, string token, int id, string? retryOf)
    {
        var retry = retryOf is null ? "" : ",\"inputResponses\":{\"connect\":{\"action\":\"accept\"}},\"requestState\":\"" + retryOf + "\"";
        const string Meta = """ "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}""";
        var json = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\",\"arguments\":{}" + retry + "," + Meta + "}}";
        return world.Gateway.PostAsync(Server, token, json, r =>
        {
            r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
            r.Headers.Add("Mcp-Method", "tools/call");
            r.Headers.Add("Mcp-Name", "whoami");
        });
    }

    [Fact]
    public async Task A_client_without_url_elicitation_gets_an_error_whose_message_holds_the_absolute_connect_url()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, token) = await SignInAsync(world, "alice");
        using (alice)
        {
            using var refused = await world.Gateway.PostAsync(Server, token, GatewayHarness.InitializeBody);
            var body = await GatewayHarness.ReadJsonRpcAsync(refused);
            Assert.Equal("GH1701", GatewayHarness.ErrorCode(body));
            var error = body.GetProperty("error");
            Assert.NotEqual(-32042, error.GetProperty("code").GetInt32());
            var url = error.GetProperty("data").GetProperty("connectUrl").GetString()!;
            Assert.StartsWith(new Uri(world.Gateway.BaseUri, "oauth/connect/user/").ToString(), url, StringComparison.Ordinal);
            Assert.Contains(url, error.GetProperty("message").GetString(), StringComparison.Ordinal);

            // A tools/call in the same state gets the same answer (the upstream is stateless: no session needed).
            using var call = await world.RawWhoAmIAsync(token);
            Assert.Equal("GH1701", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(call)));
        }
    }

    [Fact]
    public async Task The_connect_page_refuses_another_user_and_sends_a_browser_that_is_not_signed_in_to_the_login_page()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, aliceToken) = await SignInAsync(world, "alice");
        var (bob, _) = await SignInAsync(world, "bob");
        using (alice)
        using (bob)
        {
            using var refused = await world.Gateway.PostAsync(Server, aliceToken, ElicitingInitialize);
            var url = (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("data").GetProperty("elicitations")[0].GetProperty("url").GetString()!;

            using var asBob = await bob.Browser.GetAsync(url);
            Assert.Equal(HttpStatusCode.Forbidden, asBob.StatusCode);
            Assert.Contains("another Gatehouse user", await asBob.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // A fresh browser goes through the login page first and then on to the upstream, still as alice.
            var freshToken = await NewSignInTokenAsync(world, "alice");
            using var fresh = new OAuthClientDriver(world.Gateway) { SignInToken = freshToken };
            using var anonymous = await fresh.Browser.GetAsync(url);
            Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
            var login = anonymous.Headers.Location!;
            Assert.Contains("/oauth2/login", login.ToString(), StringComparison.Ordinal);
            using var signedIn = await fresh.SignInAsync(new Uri(fresh.Browser.BaseAddress!, login));
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            var (status, page) = await FollowAsync(fresh, new Uri(fresh.Browser.BaseAddress!, signedIn.Headers.Location!).ToString(), world, "alice-upstream");
            Assert.True(status == HttpStatusCode.OK, page);
            Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, aliceToken));

            // The same link is worthless to bob even after it was used.
            using var again = await bob.Browser.GetAsync(url);
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        }
    }

    [Fact]
    public async Task Two_users_calls_always_carry_their_own_upstream_token_and_never_the_other_users()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, aliceToken) = await SignInAsync(world, "alice");
        var (bob, bobToken) = await SignInAsync(world, "bob");
        using (alice)
        using (bob)
        {
            foreach (var (driver, token, account) in new[] { (alice, aliceToken, "alice-upstream"), (bob, bobToken, "bob-upstream") })
            {
                using var refused = await world.Gateway.PostAsync(Server, token, ElicitingInitialize);
                var url = (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("data").GetProperty("elicitations")[0].GetProperty("url").GetString()!;
                var (status, page) = await FollowAsync(driver, url, world, account);
                Assert.True(status == HttpStatusCode.OK, page);
            }

            // Interleaved, so a cache keyed by server alone (or by the last caller) would show up.
            for (var round = 0; round < 3; round++)
            {
                Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, aliceToken));
                Assert.Equal("bob-upstream", await UpstreamSubjectAsync(world, bobToken));
            }

            Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, aliceToken));
        }
    }

    [Fact]
    public async Task Signing_in_for_a_per_user_server_passes_through_the_upstream_consent_so_the_first_call_already_works()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var signInToken = await NewSignInTokenAsync(world, "alice");
        var upstreamVisits = 0;
        using var alice = new OAuthClientDriver(world.Gateway)
        {
            SignInToken = signInToken,
            AtUpstream = async (browser, upstream) =>
            {
                upstreamVisits++;
                Assert.Equal(world.Provider.Issuer.Authority, upstream.Authority);
                return await FollowToClientAsync(browser, upstream, "alice-upstream");
            },
        };
        var (_, tokens) = await alice.SignInForAsync(Server);
        Assert.Equal(1, upstreamVisits);
        var token = tokens.GetProperty("access_token").GetString()!;

        // The first call a client without elicitation support makes already carries alice's own upstream token.
        Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, token));

        // A second client signing in as alice goes straight through: the connection exists now.
        var clientId = await alice.RegisterAsync("Second client");
        var (verifier, challenge) = OAuthClientDriver.Pkce();
        var location = await alice.AuthorizeAsync(clientId, alice.Resource(Server), challenge);
        var (status, secondTokens) = await alice.ExchangeAsync(clientId, OAuthClientDriver.Query(location, "code")!, verifier, alice.Resource(Server));
        Assert.True(status == HttpStatusCode.OK, secondTokens.ToString());
        Assert.Equal(1, upstreamVisits);
        Assert.Equal("alice-upstream", await UpstreamSubjectAsync(world, secondTokens.GetProperty("access_token").GetString()!));

        // Alice sees her own connection on her account page and cuts it there: revoked at the provider, and the next
        // call asks her to connect again.
        var page = await (await alice.Browser.GetAsync("account")).Content.ReadAsStringAsync();
        Assert.Contains($"<td><code>{Server}</code></td><td>connected</td>", page, StringComparison.Ordinal);
        var revocationsBefore = await world.Provider.StatAsync("revocations");
        var antiforgery = OAuthClientDriver.HiddenFields(page).First(f => f.Key == "__RequestVerificationToken");
        using var disconnected = await alice.Browser.PostAsync("account", new FormUrlEncodedContent(
            [antiforgery, KeyValuePair.Create("action", "disconnect"), KeyValuePair.Create("id", Server)]));
        Assert.Equal("/account?notice=disconnected", disconnected.Headers.Location!.ToString());
        Assert.True(await world.Provider.StatAsync("revocations") > revocationsBefore);
        using var refused = await world.Gateway.PostAsync(Server, token, ElicitingInitialize);
        Assert.Equal(-32042, (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Declining_the_upstream_consent_during_sign_in_still_signs_in_and_the_first_call_offers_the_connect_link()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var (alice, token) = await SignInAsync(world, "alice");
        using (alice)
        {
            Assert.NotNull(alice.DeclinedUpstreamPage);
            Assert.Contains("access_denied", alice.DeclinedUpstreamPage, StringComparison.Ordinal);
            Assert.Contains("Continue signing in without connecting", alice.DeclinedUpstreamPage, StringComparison.Ordinal);

            using var refused = await world.Gateway.PostAsync(Server, token, ElicitingInitialize);
            Assert.Equal(-32042, (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("code").GetInt32());
        }
    }

    /// <summary>Follows the browser through the upstream's login and consent and back through Gatehouse until it redirects to the client.</summary>
    private static async Task<HttpResponseMessage> FollowToClientAsync(HttpClient browser, Uri upstream, string loginHint)
    {
        var next = new Uri(upstream + "&login_hint=" + Uri.EscapeDataString(loginHint));
        for (var hop = 0; hop < 20; hop++)
        {
            var response = await browser.GetAsync(next);
            if (response.StatusCode != HttpStatusCode.Redirect && response.StatusCode != HttpStatusCode.Found && response.StatusCode != HttpStatusCode.SeeOther)
            {
                throw new InvalidOperationException($"Stopped at {next} with {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }

            var location = new Uri(next, response.Headers.Location!);
            if (location.ToString().StartsWith(OAuthClientDriver.RedirectUri, StringComparison.Ordinal))
            {
                return response;
            }

            next = location;
        }

        throw new InvalidOperationException("Too many redirects.");
    }

    [Fact]
    public async Task A_grant_token_is_refused_on_a_per_user_server_with_a_clear_error()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        var grant = await world.Gateway.CreateGrantAsync("agent", Server);
        using var response = await world.Gateway.PostAsync(Server, grant, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1707", GatewayHarness.ErrorCode(body));
        Assert.Contains("per-user", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var (code, output, error) = await world.Gateway.CliAsync("server", "show", Server);
        Assert.True(code == 0, error);
        Assert.Contains("per-user connections", output, StringComparison.Ordinal);
    }

    /// <summary>A local Gatehouse user, signed in through an MCP client's OAuth flow; returns the browser and the access token.</summary>
    private static async Task<(OAuthClientDriver Driver, string AccessToken)> SignInAsync(OAuthUpstreamFixture world, string name)
    {
        var driver = new OAuthClientDriver(world.Gateway) { SignInToken = await NewSignInTokenAsync(world, name) };
        var (_, tokens) = await driver.SignInForAsync(Server);
        return (driver, tokens.GetProperty("access_token").GetString()!);
    }

    private static async Task<string> NewSignInTokenAsync(OAuthUpstreamFixture world, string name)
    {
        var (code, output, error) = await world.Gateway.CliAsync("user", "add", name);
        Assert.True(code == 0, error);
        return output.Trim().Split('\n')[^1].Trim();
    }

    /// <summary>Follows redirects in the user's browser (cookies kept); the hint picks the account at the upstream's authorization server.</summary>
    private static async Task<(HttpStatusCode Status, string Page)> FollowAsync(OAuthClientDriver driver, string url, OAuthUpstreamFixture world, string loginHint)
    {
        var next = new Uri(url);
        var hinted = false;
        for (var hop = 0; hop < 20; hop++)
        {
            if (!hinted && next.Authority == world.Provider.Issuer.Authority)
            {
                next = new Uri(next + "&login_hint=" + Uri.EscapeDataString(loginHint));
                hinted = true;
            }

            using var response = await driver.Browser.GetAsync(next);
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                next = new Uri(next, response.Headers.Location!);
                continue;
            }

            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        throw new InvalidOperationException("Too many redirects.");
    }

    /// <summary>The <c>sub</c> of the upstream token the upstream itself saw on a <c>whoami</c> call.</summary>
    private static async Task<string?> UpstreamSubjectAsync(OAuthUpstreamFixture world, string accessToken)
    {
        using var response = await world.RawWhoAmIAsync(accessToken);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.True(body.TryGetProperty("result", out var result), body.ToString());
        var text = result.GetProperty("content")[0].GetProperty("text").GetString()!;
        return JsonDocument.Parse(text).RootElement.GetProperty("sub").GetString();
    }
}
