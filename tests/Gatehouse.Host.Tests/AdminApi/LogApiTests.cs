using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Decisions;
using Gatehouse.Host.Hosting;
using Gatehouse.Storage;
using Gatehouse.Storage.Decisions;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Host.Tests.AdminApi;

public sealed class LogApiTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-logapi-").FullName;

    [Fact]
    public async Task Decisions_RequireTheAdminToken_AndPageWithFilters()
    {
        await using var app = await GatehouseApplication.BuildAsync(Settings());
        var adminToken = await AdminCredentials.EnsureAsync(new GatehouseStorage(_dir), TimeProvider.System);
        await app.StartAsync();
        var log = app.Services.GetRequiredService<IDecisionLog>();
        for (var i = 1; i <= 7; i++)
        {
            log.Record(Make(T0.AddMinutes(i), i % 2 == 0 ? "gl" : "gh", i % 3 == 0 ? DecisionKinds.Deny : DecisionKinds.Allow, $"r{i}"));
        }

        await app.Services.GetRequiredService<DecisionLogWriter>().FlushAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };

        using (var anonymous = await http.GetAsync("/admin/api/decisions"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "gta_not-the-token");
        using (var wrong = await http.GetAsync("/admin/api/decisions"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        var seen = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            var page = await GetAsync(http, $"/admin/api/decisions?limit=3{(next is null ? "" : "&before=" + next)}");
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));
            next = page["next"]?.GetValue<string>();
            pages++;
        }
        while (next is not null);

        Assert.Equal(3, pages);
        Assert.Equal(["r7", "r6", "r5", "r4", "r3", "r2", "r1"], seen);

        var filtered = await GetAsync(http, "/admin/api/decisions?server=gh&decision=deny");
        Assert.Equal(["r3"], filtered["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));
        Assert.Null(filtered["next"]);

        var byTool = await GetAsync(http, "/admin/api/decisions?tool=tool-r5&principal=alice");
        var item = Assert.Single(byTool["items"]!.AsArray())!;
        Assert.Equal(("gh", "allow", "tools/call"), (item["server"]!.GetValue<string>(), item["decision"]!.GetValue<string>(), item["method"]!.GetValue<string>()));

        var window = await GetAsync(http, "/admin/api/decisions?from=2026-03-01T12:02:00Z&to=2026-03-01T12:04:00Z");
        Assert.Equal(["r3", "r2"], window["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));

        foreach (var bad in new[] { "limit=0", "limit=1001", "decision=maybe", "before=x", "from=yesterday" })
        {
            using var response = await http.GetAsync($"/admin/api/decisions?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invalid", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        }

        await app.StopAsync();
    }

    [Fact]
    public async Task Audit_ListsAdminApiChanges()
    {
        await using var app = await GatehouseApplication.BuildAsync(Settings());
        var adminToken = await AdminCredentials.EnsureAsync(new GatehouseStorage(_dir), TimeProvider.System);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
        using (var anonymous = await http.GetAsync("/admin/api/audit"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using (var created = await http.PostAsJsonAsync("/admin/api/servers", new { name = "gh", url = "https://mcp.example.com/mcp" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var audit = await GetAsync(http, "/admin/api/audit?limit=10");
        var item = Assert.Single(audit["items"]!.AsArray())!;
        Assert.Equal(("admin-api", "server.add", "gh"), (item["actor"]!.GetValue<string>(), item["action"]!.GetValue<string>(), item["target"]!.GetValue<string>()));
        Assert.Null(audit["next"]);
        await app.StopAsync();
    }

    [Fact]
    public async Task GracefulShutdown_StoresEveryDecisionRecordedWhileServing()
    {
        var app = await GatehouseApplication.BuildAsync(Settings());
        await app.StartAsync();

        // The writer must stop after the web server, so requests still in flight while the server drains get stored.
        var hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType().Name).ToList();
        Assert.True(hosted.IndexOf("DecisionLogService") < hosted.IndexOf("GenericWebHostService"), string.Join(", ", hosted));

        var log = app.Services.GetRequiredService<IDecisionLog>();
        for (var i = 0; i < 1500; i++)
        {
            log.Record(Make(T0, "gh", DecisionKinds.Allow, $"s{i}"));
        }

        await app.StopAsync();
        await app.DisposeAsync();

        await using var db = new GatehouseStorage(_dir).CreateContext();
        Assert.Equal(1500, await db.Decisions.CountAsync());
    }

    // The records carry fixed past times; a long retention keeps the purge at start from removing them.
    private ServeSettings Settings() => new() { DataDirectory = _dir, Urls = "http://127.0.0.1:0", DecisionRetention = TimeSpan.FromDays(36500) };

    private static async Task<JsonNode> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!;
    }

    private static DecisionRecord Make(DateTimeOffset at, string server, string decision, string requestId) =>
        new(at, requestId, "grant:alice-id", "alice", server, "tools/call", $"tool-{requestId}", decision, "(no policy)", null, ["q"], null, 200, 1.5, null, null);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
