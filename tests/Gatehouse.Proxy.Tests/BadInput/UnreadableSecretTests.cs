using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>A stored secret that cannot be opened any more (damaged, or sealed under a data key that is gone).</summary>
public sealed class UnreadableSecretTests
{
    [Fact]
    public async Task An_identity_provider_secret_that_cannot_be_opened_leaves_every_other_oauth_endpoint_working()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        var storage = new GatehouseStorage(gateway.DataDirectory);
        await AdminCredentials.EnsureAsync(storage, TimeProvider.System);
        var (code, _, error) = await gateway.CliAsync("login-provider", "set", "--issuer", "http://127.0.0.1:1", "--client-id", "c",
            "--client-secret-file", await WriteSecretAsync(gateway.DataDirectory), "--allow-loopback");
        Assert.True(code == 0, error);
        await using (var db = storage.CreateContext())
        {
            var row = await db.Settings.SingleAsync(s => s.Key == LoginProviderSettings.Key);
            // Point the sealed secret at a data key this database never held.
            row.Value = System.Text.RegularExpressions.Regex.Replace(row.Value, "gv1\\.dk-[0-9a-f]+\\.", "gv1.dk-000000000000.");
            await db.SaveChangesAsync();
        }

        foreach (var path in new[] { "oauth2/login", ".well-known/oauth-authorization-server", "oauth2/jwks" })
        {
            using var response = await gateway.Http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{path}: {(int)response.StatusCode} {body}");
        }

        using var token = await gateway.Http.PostAsync("oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = "x", ["client_id"] = "nobody" }));
        Assert.True((int)token.StatusCode < 500, $"token: {(int)token.StatusCode} {await token.Content.ReadAsStringAsync()}");
    }

    private static async Task<string> WriteSecretAsync(string directory)
    {
        var file = Path.Combine(directory, "idp-secret");
        await File.WriteAllTextAsync(file, "idp-secret-value");
        return file;
    }
}
