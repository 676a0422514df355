using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Admin.Administration;
using Gatehouse.Host.Hosting;
using Gatehouse.Storage;

namespace Gatehouse.Host.Tests.Cli;

/// <summary>The per-server identity-header setting is set the same way everywhere: YAML, the admin API, and shown by both.</summary>
public sealed class ForwardIdentityHeadersSettingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-identity-headers-").FullName;

    [Fact]
    public async Task Apply_sets_and_clears_forward_identity_headers_and_server_show_reports_it()
    {
        var file = Path.Combine(_dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(file, "servers:\n  - name: edge\n    url: https://mcp.example.com/mcp\n    forward-identity-headers: true\n");
        Assert.Equal(0, (await RunAsync("apply", "-f", file)).Code);
        Assert.True(JsonNode.Parse((await RunAsync("--json", "server", "show", "edge")).Output)!["forwardIdentityHeaders"]!.GetValue<bool>());

        await File.WriteAllTextAsync(file, "servers:\n  - name: edge\n    url: https://mcp.example.com/mcp\n");
        Assert.Contains("server edge: updated", (await RunAsync("apply", "-f", file)).Output, StringComparison.Ordinal);
        Assert.False(JsonNode.Parse((await RunAsync("--json", "server", "show", "edge")).Output)!["forwardIdentityHeaders"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_admin_api_takes_forwardIdentityHeaders_on_servers_and_in_apply()
    {
        await using var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = _dir, Urls = "http://127.0.0.1:0" });
        var token = await AdminCredentials.EnsureAsync(new GatehouseStorage(_dir), TimeProvider.System);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using (var created = await http.PostAsJsonAsync("/admin/api/servers", new { name = "edge", url = "https://mcp.example.com/mcp", forwardIdentityHeaders = true }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        Assert.True(JsonNode.Parse(await http.GetStringAsync("/admin/api/servers/edge"))!["forwardIdentityHeaders"]!.GetValue<bool>());

        using (var applied = await http.PostAsync("/admin/api/apply", new StringContent("servers:\n  - name: other\n    url: https://mcp.example.com/mcp\n    forward-identity-headers: true\n", Encoding.UTF8, "application/yaml")))
        {
            Assert.True(applied.IsSuccessStatusCode, await applied.Content.ReadAsStringAsync());
        }

        Assert.True(JsonNode.Parse(await http.GetStringAsync("/admin/api/servers/other"))!["forwardIdentityHeaders"]!.GetValue<bool>());
        await app.StopAsync();
    }

    [Fact]
    public async Task The_cli_apply_on_the_operators_machine_still_expands_environment_variables_and_reads_key_files()
    {
        Environment.SetEnvironmentVariable("GATEHOUSE_TEST_CLI_SECRET", "cli-secret");
        var key = Path.Combine(_dir, "client.pem");
        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            await File.WriteAllTextAsync(key, rsa.ExportPkcs8PrivateKeyPem());
        }

        var file = Path.Combine(_dir, "oauth.yaml");
        await File.WriteAllTextAsync(file, $"servers:\n  - name: svc\n    url: https://mcp.example.com/mcp\n    headers:\n      X-Key: \"${{GATEHOUSE_TEST_CLI_SECRET}}\"\n" +
            $"  - name: jwt\n    url: https://mcp.example.com/mcp\n    oauth:\n      grant: client_credentials\n      client-id: gatehouse\n      private-key-file: {key}\n      key-id: k1\n");
        var applied = await RunAsync("apply", "-f", file);
        Assert.True(applied.Code == 0, applied.Error);

        Assert.Equal("X-Key", JsonNode.Parse((await RunAsync("--json", "server", "show", "svc")).Output)!["headerNames"]![0]!.GetValue<string>());
        Assert.True(JsonNode.Parse((await RunAsync("--json", "server", "show", "jwt")).Output)!["oAuth"]!["hasPrivateKey"]!.GetValue<bool>());
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.Run(["--data", _dir, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
