using System.Net;
using System.Text.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Proxy.Tests.UpstreamOAuth;
using Gatehouse.Storage;
using Gatehouse.Testing;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// <c>gatehouse user offboard</c> through real sockets: a user signed in through Gatehouse's OAuth flow, holding a grant
/// and an upstream connection at oidc-provider, loses every one of them in one action.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed class OffboardingTests
{
    [Fact]
    public async Task Offboard_cuts_access_and_refresh_tokens_grants_sign_in_and_upstream_tokens_and_audits_it_all()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var gateway = world.Gateway;
        await AdminCredentials.EnsureAsync(new GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        using var driver = new OAuthClientDriver(gateway);
        var (clientId, tokens) = await driver.SignInForAsync(OAuthUpstreamFixture.Server);
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        var refreshToken = tokens.GetProperty("refresh_token").GetString()!;

        var (code, output, error) = await gateway.CliAsync("user", "list", "--json");
        Assert.True(code == 0, error);
        var user = JsonDocument.Parse(output).RootElement.EnumerateArray().Single();
        var userId = user.GetProperty("id").GetGuid();
        Assert.Equal("active", user.GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKind.Null, user.GetProperty("lastSignInAt").ValueKind);

        (code, output, error) = await gateway.CliAsync("grant", "create", "--label", "admin-laptop", "--server", OAuthUpstreamFixture.Server, "--owner", "admin");
        Assert.True(code == 0, error);
        var grantToken = output.Split('\n').Single(l => l.StartsWith("gth_", StringComparison.Ordinal)).Trim();
        await gateway.CreateGrantAsync("org-robot", OAuthUpstreamFixture.Server);
        (code, output, error) = await gateway.CliAsync("grant", "list", "--owner", userId.ToString(), "--json");
        Assert.True(code == 0, error);
        Assert.Equal(["admin-laptop"], JsonDocument.Parse(output).RootElement.EnumerateArray().Select(g => g.GetProperty("label").GetString()));

        await world.ConnectAsync();
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(OAuthUpstreamFixture.Server, accessToken));
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync(OAuthUpstreamFixture.Server, grantToken));

        // The user's own connection at the upstream provider: `server connect` stores a shared one, handed here to the user.
        await using (var db = new GatehouseStorage(gateway.DataDirectory).CreateContext())
        {
            var row = await db.UpstreamConnections.SingleAsync();
            row.OwnerKind = "user";
            row.OwnerId = userId.ToString("N");
            await db.SaveChangesAsync();
        }

        var revocationsBefore = await world.Provider.StatAsync("revocations");

        (code, output, error) = await gateway.CliAsync("user", "offboard", "admin", "--json");
        Assert.True(code == 0, error);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["admin-laptop"], report.GetProperty("grants").EnumerateArray().Select(g => g.GetString()));
        Assert.True(report.GetProperty("tokens").GetInt64() >= 2, output);
        Assert.Equal(1, report.GetProperty("authorizations").GetInt64());
        Assert.StartsWith(OAuthUpstreamFixture.Server + ": ", report.GetProperty("upstreamConnections").EnumerateArray().Single().GetString(), StringComparison.Ordinal);

        // The still-unexpired access token is refused on the next request, with a code saying why.
        using (var refused = await gateway.PostAsync(OAuthUpstreamFixture.Server, accessToken, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("GH1010", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
            Assert.Contains("error=\"invalid_token\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        var (refreshStatus, refreshBody) = await driver.RefreshAsync(clientId, refreshToken, driver.Resource(OAuthUpstreamFixture.Server));
        Assert.Equal(HttpStatusCode.BadRequest, refreshStatus);
        Assert.Equal("invalid_grant", refreshBody.GetProperty("error").GetString());

        using (var refused = await gateway.PostAsync(OAuthUpstreamFixture.Server, grantToken, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("GH1005", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        }

        // The browser session is over (its cookie is refused and cleared, so the browser is sent to sign in again) and a new sign-in is refused.
        var (_, challenge) = OAuthClientDriver.Pkce();
        using (var again = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(OAuthUpstreamFixture.Server), challenge)))
        {
            Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
            Assert.StartsWith("/oauth2/login?", again.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        using var stranger = new OAuthClientDriver(gateway);
        using (var login = await stranger.SignInAsync(new Uri(gateway.BaseUri, "oauth2/login")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
            Assert.Contains("disabled", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The upstream provider saw the revocation, and the vault no longer holds the tokens.
        Assert.True(await world.Provider.StatAsync("revocations") > revocationsBefore);
        await using (var db = new GatehouseStorage(gateway.DataDirectory).CreateContext())
        {
            var row = await db.UpstreamConnections.SingleAsync();
            Assert.Equal("revoked", row.Status);
            Assert.Null(row.AccessTokenSealed);
            Assert.Null(row.RefreshTokenSealed);

            var audit = await db.AuditEvents.Where(e => e.Action == "user.offboard").SingleAsync();
            Assert.Contains(userId.ToString("N"), audit.Target, StringComparison.Ordinal);
            foreach (var expected in new[] { "grants revoked 1 (admin-laptop)", "consents revoked 1", "upstream connections revoked 1 (protected: ", "sign-in sessions ended" })
            {
                Assert.Contains(expected, audit.Details, StringComparison.Ordinal);
            }

            Assert.DoesNotContain(grantToken, audit.Details!, StringComparison.Ordinal);
            Assert.Null((await db.Grants.SingleAsync(g => g.Label == "org-robot")).RevokedAt);
        }

        (code, output, _) = await gateway.CliAsync("user", "list", "--json");
        Assert.Equal("disabled", JsonDocument.Parse(output).RootElement.EnumerateArray().Single().GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_grant_whose_owner_is_disabled_is_refused_even_if_it_was_not_revoked()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        var storage = new GatehouseStorage(gateway.DataDirectory);
        await AdminCredentials.EnsureAsync(storage, TimeProvider.System);
        await gateway.AddServerAsync("alpha", upstream.McpUri);
        using var driver = new OAuthClientDriver(gateway);
        await driver.SignInForAsync("alpha");
        var (code, output, error) = await gateway.CliAsync("grant", "create", "--label", "laptop", "--server", "alpha", "--owner", "admin");
        Assert.True(code == 0, error);
        var grantToken = output.Split('\n').Single(l => l.StartsWith("gth_", StringComparison.Ordinal)).Trim();
        Assert.Equal(HttpStatusCode.OK, await driver.CallAsync("alpha", grantToken));

        // Disabled some other way than offboarding (a direct change): the snapshot's disabled users still decide.
        await using (var db = storage.CreateContext())
        {
            (await db.Users.SingleAsync()).DisabledAt = DateTimeOffset.UtcNow;
            await ConfigurationCommit.SaveUnauditedAsync(db, storage.TouchChangeStamp, CancellationToken.None);
        }

        using var refused = await gateway.PostAsync("alpha", grantToken, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("GH1010", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
    }
}
