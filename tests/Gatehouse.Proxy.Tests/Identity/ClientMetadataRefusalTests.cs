using System.Net;
using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// Anyone may start an authorization with a client_id URL, so the guard's refusal reaches an unauthenticated caller:
/// it must not tell them what a name resolves to inside the gateway's network (the log keeps that).
/// </summary>
public sealed class ClientMetadataRefusalTests
{
    [Fact]
    public async Task A_client_id_whose_host_resolves_to_a_forbidden_address_is_refused_without_naming_the_address()
    {
        // This machine's own name resolves (through /etc/hosts) to addresses the guard forbids without the loopback
        // option: loopback or a private network address. Nothing leaves the machine.
        var host = Dns.GetHostName();
        var addresses = await Dns.GetHostAddressesAsync(host);
        Assert.True(addresses.Any(NotPublic),
            $"precondition: {host} must resolve to at least one loopback or private address");

        var logs = new CapturingLoggerProvider();
        await using var gateway = await GatewayHarness.StartAsync(logging: l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        await AdminCredentials.EnsureAsync(new GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        using var driver = new OAuthClientDriver(gateway);
        var clientId = $"https://{host}/clients/editor.json";

        var (verifier, challenge) = OAuthClientDriver.Pkce();
        using var response = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource("alpha"), challenge));
        var body = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_client", body, StringComparison.Ordinal);
        Assert.Contains($"its host {host} resolves to an address that", body, StringComparison.Ordinal);

        // The token endpoint, just as open, says the same.
        var (status, error) = await driver.ExchangeAsync(clientId, "no-code", verifier, driver.Resource("alpha"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var description = error.GetProperty("error_description").GetString()!;
        Assert.Contains($"its host {host} resolves to an address that", description, StringComparison.Ordinal);
        foreach (var address in addresses)
        {
            Assert.DoesNotContain(address.ToString(), body, StringComparison.Ordinal);
            Assert.DoesNotContain(address.ToString(), description, StringComparison.Ordinal);
        }

        // The operator still sees which address it was.
        Assert.Contains(logs.Lines, line => line.Contains(clientId, StringComparison.Ordinal) && addresses.Any(a => line.Contains(a.ToString(), StringComparison.Ordinal)));
    }

    private static bool NotPublic(IPAddress address) =>
        IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6UniqueLocal
        || address.GetAddressBytes() is [10, ..] or [172, >= 16 and <= 31, ..] or [192, 168, ..];
}
