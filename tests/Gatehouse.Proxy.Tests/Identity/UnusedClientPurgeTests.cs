using Gatehouse.Identity.Registration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>Issue 10 item 7: clients anonymous callers registered and never used are removed after the retention.</summary>
public sealed class UnusedClientPurgeTests
{
    [Fact]
    public async Task RegistrationsNeverUsed_ArePurgedAfterTheRetention_OnTheClock_WhileUsedOnesStay()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await GatewayHarness.StartAsync(authorizationServer: o =>
        {
            o.ClientMetadataClock = clock;
            o.UnusedClientRetention = TimeSpan.FromDays(30);

            // The hosted run would fire as the clock moves; the test runs the purge itself, at the moments it chooses.
            o.UnusedClientPurgeInterval = TimeSpan.FromDays(45);
        });
        using var driver = new OAuthClientDriver(gateway);
        var unused = await driver.RegisterAsync("never used");

        // A client that signed someone in holds an authorization and tokens: it is in use, however old its registration.
        await Gatehouse.Admin.Administration.AdminCredentials.EnsureAsync(new Gatehouse.Storage.GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        await gateway.AddServerAsync("echo", new Uri("http://127.0.0.1:9/mcp"));
        var (used, _) = await driver.SignInForAsync("echo");
        var purge = gateway.Services.GetRequiredService<UnusedClientPurge>();

        Assert.Equal(0, await purge.PurgeOnceAsync());
        clock.Advance(TimeSpan.FromDays(29));
        Assert.Equal(0, await purge.PurgeOnceAsync());

        clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await purge.PurgeOnceAsync());
        var (code, audit, error) = await gateway.CliAsync("audit");
        Assert.True(code == 0, error);
        Assert.Contains("client.purge", audit, StringComparison.Ordinal);

        // The purged client is unknown now: it must register again.
        var (_, tokenAnswer) = await driver.TokenAsync(("grant_type", "authorization_code"), ("client_id", unused), ("code", "x"), ("code_verifier", "y"), ("redirect_uri", OAuthClientDriver.RedirectUri));
        Assert.Equal("invalid_client", tokenAnswer.GetProperty("error").GetString());

        // The used client is still known: a bad code is its own fault (invalid_grant), not an unknown client.
        var (_, usedAnswer) = await driver.TokenAsync(("grant_type", "authorization_code"), ("client_id", used), ("code", "x"), ("code_verifier", "y"), ("redirect_uri", OAuthClientDriver.RedirectUri));
        Assert.Equal("invalid_grant", usedAnswer.GetProperty("error").GetString());
        Assert.Equal(0, await purge.PurgeOnceAsync());
    }
}
