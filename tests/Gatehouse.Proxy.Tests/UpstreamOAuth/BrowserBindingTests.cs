using System.Net;
using System.Text.Json;
using Gatehouse.Proxy.Tests.Identity;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Proxy.Tests.UpstreamOAuth;

/// <summary>
/// Every upstream connect flow completes only in the browser that started it, and a person's own connection only
/// while that person is signed in there: two independent browsers (separate cookie jars) against npm oidc-provider.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed class BrowserBindingTests
{
    private const string Server = OAuthUpstreamFixture.Server;

    [Fact]
    public async Task A_shared_connect_link_completed_in_another_browser_stores_nothing_and_the_page_says_why()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var (code, output, error) = await world.Gateway.CliAsync("server", "connect", Server, "--json");
        Assert.True(code == 0, error);
        var connectUrl = new Uri(JsonDocument.Parse(output).RootElement.GetProperty("connectUrl").GetString()!);

        // The admin's browser opens the link and is sent to the authorization server...
        using var starter = Browser();
        using var opened = await starter.GetAsync(connectUrl);
        Assert.Equal(HttpStatusCode.Redirect, opened.StatusCode);
        var authorization = opened.Headers.Location!;
        Assert.Equal(world.Provider.Issuer.Authority, authorization.Authority);

        // ...but someone else, handed the authorization link, approves with their own account in their own browser.
        using var other = Browser();
        var callback = await RunToCallbackAsync(other, authorization);
        using var completed = await other.GetAsync(callback);
        var page = await completed.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Forbidden, completed.StatusCode);
        Assert.Contains("started in another browser", page, StringComparison.Ordinal);
        Assert.Contains("GH1710", page, StringComparison.Ordinal);

        Assert.NotEqual("connected", (await world.ConnectionAsync()).GetProperty("status").GetString());
        var grant = await world.Gateway.CreateGrantAsync("agent", Server);
        using var call = await world.RawWhoAmIAsync(grant);
        Assert.Equal("GH1701", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(call)));

        // The flow is spent: the starter cannot complete it with that state any more, and the link is bound to its
        // first browser, so the other browser cannot claim it either.
        using var claimed = await other.GetAsync(connectUrl);
        Assert.NotEqual(HttpStatusCode.Redirect, claimed.StatusCode);
        using var replay = await starter.GetAsync(callback);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.NotEqual("connected", (await world.ConnectionAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_connect_link_opened_first_in_one_browser_is_refused_in_another_and_still_completes_in_the_first()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var (code, output, error) = await world.Gateway.CliAsync("server", "connect", Server, "--json");
        Assert.True(code == 0, error);
        var connectUrl = new Uri(JsonDocument.Parse(output).RootElement.GetProperty("connectUrl").GetString()!);

        using var first = Browser();
        using var opened = await first.GetAsync(connectUrl);
        Assert.Equal(HttpStatusCode.Redirect, opened.StatusCode);

        using var second = Browser();
        using var refused = await second.GetAsync(connectUrl);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("already opened in another browser", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The first browser may open it again (a reload) and completes it.
        using var reopened = await first.GetAsync(connectUrl);
        Assert.Equal(HttpStatusCode.Redirect, reopened.StatusCode);
        var callback = await RunToCallbackAsync(first, reopened.Headers.Location!);
        using var completed = await first.GetAsync(callback);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        Assert.Equal("connected", (await world.ConnectionAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_per_user_connect_completed_while_the_browser_is_signed_in_as_another_user_stores_nothing()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        using var alice = new OAuthClientDriver(world.Gateway) { SignInToken = await NewSignInTokenAsync(world, "alice") };
        var (_, tokens) = await alice.SignInForAsync(Server);
        var aliceToken = tokens.GetProperty("access_token").GetString()!;
        using var refused = await world.Gateway.PostAsync(Server, aliceToken, GatewayHarness.InitializeBody);
        var link = (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("data").GetProperty("connectUrl").GetString()!;

        // Alice starts connecting in her browser...
        using var started = await alice.Browser.GetAsync(link);
        Assert.Equal(HttpStatusCode.Redirect, started.StatusCode);
        var callback = await RunToCallbackAsync(alice.Browser, new Uri(started.Headers.Location + "&login_hint=bob-upstream"));

        // ...and before the callback, bob signs in to Gatehouse in that same browser (a shared computer): the binding
        // cookie matches, the person does not.
        using var bob = new OAuthClientDriver(world.Gateway, alice.Cookies) { SignInToken = await NewSignInTokenAsync(world, "bob") };
        using var signedIn = await bob.SignInAsync(new Uri(world.Gateway.BaseUri, "oauth2/login?returnUrl=%2Faccount"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        using var completed = await alice.Browser.GetAsync(callback);
        var page = await completed.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Forbidden, completed.StatusCode);
        Assert.Contains("another Gatehouse user", page, StringComparison.Ordinal);
        Assert.Contains("GH1711", page, StringComparison.Ordinal);

        await using (var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext())
        {
            Assert.Equal(0, await db.UpstreamConnections.CountAsync(c => c.Status == "connected"));
        }

        using var still = await world.Gateway.PostAsync(Server, aliceToken, GatewayHarness.InitializeBody);
        Assert.Equal("GH1701", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(still)));
    }

    [Fact]
    public async Task A_per_user_authorization_link_handed_to_another_signed_in_user_stores_nothing_for_either()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        using var alice = new OAuthClientDriver(world.Gateway) { SignInToken = await NewSignInTokenAsync(world, "alice") };
        var (_, aliceTokens) = await alice.SignInForAsync(Server);
        using var bob = new OAuthClientDriver(world.Gateway) { SignInToken = await NewSignInTokenAsync(world, "bob") };
        var (_, bobTokens) = await bob.SignInForAsync(Server);
        using var refused = await world.Gateway.PostAsync(Server, aliceTokens.GetProperty("access_token").GetString()!, GatewayHarness.InitializeBody);
        var link = (await GatewayHarness.ReadJsonRpcAsync(refused)).GetProperty("error").GetProperty("data").GetProperty("connectUrl").GetString()!;

        // Alice starts, then hands the upstream authorization link to bob, who approves with his upstream account.
        using var started = await alice.Browser.GetAsync(link);
        Assert.Equal(HttpStatusCode.Redirect, started.StatusCode);
        var callback = await RunToCallbackAsync(bob.Browser, new Uri(started.Headers.Location + "&login_hint=bob-upstream"));
        using var completed = await bob.Browser.GetAsync(callback);
        Assert.Equal(HttpStatusCode.Forbidden, completed.StatusCode);
        Assert.Contains("started in another browser", await completed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await using (var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext())
        {
            Assert.Equal(0, await db.UpstreamConnections.CountAsync(c => c.Status == "connected"));
        }

        foreach (var token in new[] { aliceTokens, bobTokens }.Select(t => t.GetProperty("access_token").GetString()!))
        {
            using var call = await world.Gateway.PostAsync(Server, token, GatewayHarness.InitializeBody);
            Assert.Equal("GH1701", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(call)));
        }
    }

    [Fact]
    public async Task The_upstream_consent_met_during_sign_in_completed_in_another_browser_stores_nothing()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(perUser: true);
        using var alice = new OAuthClientDriver(world.Gateway) { SignInToken = await NewSignInTokenAsync(world, "alice") };
        var clientId = await alice.RegisterAsync();
        var (_, challenge) = OAuthClientDriver.Pkce();

        // Alice signs in for the per-user server and approves the client; Gatehouse sends her browser to the upstream.
        var response = await alice.Browser.GetAsync(alice.AuthorizeUrl(clientId, alice.Resource(Server), challenge));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        response = await alice.SignInAsync(response.Headers.Location!);
        response = await alice.Browser.GetAsync(response.Headers.Location);
        var fields = OAuthClientDriver.HiddenFields(await response.Content.ReadAsStringAsync());
        fields.Add(KeyValuePair.Create("consent", "accept"));
        response = await alice.Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var upstream = response.Headers.Location!;
        Assert.Equal(world.Provider.Issuer.Authority, upstream.Authority);

        // The upstream link ends up in someone else's browser, who approves there.
        using var other = Browser();
        var callback = await RunToCallbackAsync(other, new Uri(upstream + "&login_hint=mallory-upstream"));
        using var completed = await other.GetAsync(callback);
        var page = await completed.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Forbidden, completed.StatusCode);
        Assert.Contains("started in another browser", page, StringComparison.Ordinal);
        Assert.DoesNotContain("Continue signing in", page, StringComparison.Ordinal);

        await using var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext();
        Assert.Equal(0, await db.UpstreamConnections.CountAsync(c => c.Status == "connected"));
    }

    private static HttpClient Browser() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() }) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Follows the authorization server's redirects (its login and consent) until it sends the browser to Gatehouse's callback; returns that URL unvisited.</summary>
    private static async Task<Uri> RunToCallbackAsync(HttpClient browser, Uri authorization)
    {
        var next = authorization;
        for (var hop = 0; hop < 20; hop++)
        {
            using var response = await browser.GetAsync(next);
            Assert.True((int)response.StatusCode is >= 300 and < 400, $"{(int)response.StatusCode} at {next}: {await response.Content.ReadAsStringAsync()}");
            next = new Uri(next, response.Headers.Location!);
            if (next.AbsolutePath.EndsWith("/oauth/callback", StringComparison.Ordinal))
            {
                return next;
            }
        }

        throw new InvalidOperationException("The authorization server never sent the browser back to Gatehouse.");
    }

    private static async Task<string> NewSignInTokenAsync(OAuthUpstreamFixture world, string name)
    {
        var (code, output, error) = await world.Gateway.CliAsync("user", "add", name);
        Assert.True(code == 0, error);
        return output.Trim().Split('\n')[^1].Trim();
    }
}
