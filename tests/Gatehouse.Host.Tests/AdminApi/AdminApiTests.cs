using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Gatehouse.Host.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Host.Tests.AdminApi;

public sealed class AdminApiTests
{
    [Fact]
    public async Task AdminApi_RequiresTheAdminToken_AndManagesServersAndGrants()
    {
        var dir = Directory.CreateTempSubdirectory("gatehouse-admin-").FullName;
        await using var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = dir, Urls = "http://127.0.0.1:0" });
        var adminToken = await Gatehouse.Admin.Administration.AdminCredentials.EnsureAsync(new Gatehouse.Storage.GatehouseStorage(dir), TimeProvider.System);
        Assert.NotNull(adminToken);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };

        using (var anonymous = await http.GetAsync("/admin/api/servers"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using (var created = await http.PostAsJsonAsync("/admin/api/servers", new { name = "gh", url = "https://mcp.example.com/mcp", headers = new Dictionary<string, string> { ["X-Key"] = "hidden-value" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.DoesNotContain("hidden-value", await created.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var conflict = await http.PostAsJsonAsync("/admin/api/servers", new { name = "gh", url = "https://mcp.example.com/mcp" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        }

        using var grant = await http.PostAsJsonAsync("/admin/api/grants", new { label = "bot", servers = new[] { "gh" }, expires = "1d" });
        Assert.Equal(HttpStatusCode.Created, grant.StatusCode);
        var token = JsonNode.Parse(await grant.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
        Assert.StartsWith("gth_", token, StringComparison.Ordinal);

        using var revoke = await http.PostAsync("/admin/api/grants/bot/revoke", null);
        Assert.Equal("revoked", JsonNode.Parse(await revoke.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());

        using var openApi = await http.GetAsync("/admin/api/openapi/admin.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.Contains("/admin/api/grants", await openApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await app.StopAsync();
    }

    [Fact]
    public async Task AdminApi_ConfiguresTheLoginProvider_RefusesBadInputClearly_AndNeverReturnsTheSecret()
    {
        var dir = Directory.CreateTempSubdirectory("gatehouse-admin-").FullName;
        await using var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = dir, Urls = "http://127.0.0.1:0" });
        var adminToken = await Gatehouse.Admin.Administration.AdminCredentials.EnsureAsync(new Gatehouse.Storage.GatehouseStorage(dir), TimeProvider.System);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        const string Secret = "idp-secret-never-shown";

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/admin/api/login-provider")).StatusCode);
        using (var plainHttp = await http.PutAsJsonAsync("/admin/api/login-provider", new { issuer = "http://login.example.com", clientId = "gh", clientSecret = Secret }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, plainHttp.StatusCode);
            var body = await plainHttp.Content.ReadAsStringAsync();
            Assert.Contains("https", body, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        }

        using (var set = await http.PutAsJsonAsync("/admin/api/login-provider",
            new { issuer = "https://login.example.com", clientId = "gh", clientSecret = Secret, groupsClaim = "roles", name = "Acme SSO" }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            Assert.DoesNotContain(Secret, await set.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var shown = JsonNode.Parse(await http.GetStringAsync("/admin/api/login-provider"))!;
        Assert.Equal("https://login.example.com", shown["issuer"]!.GetValue<string>().TrimEnd('/'));
        Assert.Equal("roles", shown["groupsClaim"]!.GetValue<string>());
        Assert.Equal("sealed", shown["clientSecret"]!.GetValue<string>());
        Assert.DoesNotContain(Secret, shown.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync("/admin/api/login-provider")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/admin/api/login-provider")).StatusCode);
        await app.StopAsync();
    }
}
