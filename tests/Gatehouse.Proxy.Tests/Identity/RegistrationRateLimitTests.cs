using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Proxy.Tests.Infrastructure;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>Issue 10 item 7: anonymous dynamic registration cannot grow storage without bound.</summary>
public sealed class RegistrationRateLimitTests
{
    [Fact]
    public async Task DynamicRegistration_OverTheRatePerAddress_Gets429WithRetryAfter_AndStoresNothing()
    {
        await using var gateway = await GatewayHarness.StartAsync(authorizationServer: o => o.RegistrationsPerWindow = 3);
        using var driver = new OAuthClientDriver(gateway);
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith("ghc_", await driver.RegisterAsync($"client {i}"), StringComparison.Ordinal);
        }

        using var refused = await driver.RegisterRawAsync(new { client_name = "one too many", redirect_uris = new[] { OAuthClientDriver.RedirectUri }, token_endpoint_auth_method = "none" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("temporarily_unavailable", body.GetProperty("error").GetString());
        Assert.Contains("Too many client registrations", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);

        var (code, audit, error) = await gateway.CliAsync("audit");
        Assert.True(code == 0, error);
        Assert.Contains("client 2", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("one too many", audit, StringComparison.Ordinal);
    }
}
