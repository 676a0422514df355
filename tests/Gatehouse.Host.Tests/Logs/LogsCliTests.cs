using System.Text.Json.Nodes;
using Gatehouse.Core.Decisions;
using Gatehouse.Storage;
using Gatehouse.Storage.Decisions;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Host.Tests.Logs;

public sealed class LogsCliTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-logs-").FullName;

    [Fact]
    public async Task Logs_ShowsATable_NewestFirst()
    {
        await SeedAsync();
        var result = await RunAsync("logs");
        Assert.Equal(0, result.Code);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("TIME", lines[0], StringComparison.Ordinal);
        foreach (var column in new[] { "PRINCIPAL", "SERVER", "METHOD", "TARGET", "DECISION", "RULE", "UPSTREAM", "LATENCY" })
        {
            Assert.Contains(column, lines[0], StringComparison.Ordinal);
        }

        Assert.Equal(6, lines.Length);
        Assert.Contains("delete_repo", lines[1], StringComparison.Ordinal);
        Assert.Contains("2026-03-01 12:05:00Z", lines[1], StringComparison.Ordinal);
        Assert.Contains("GH1501", lines[1], StringComparison.Ordinal);
        Assert.Contains("/rules/0", lines[2], StringComparison.Ordinal);
        Assert.Contains("200", lines[5], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--server", "gh" }, new[] { "r5", "r3", "r1" })]
    [InlineData(new[] { "--principal", "bob" }, new[] { "r4", "r3" })]
    [InlineData(new[] { "--principal", "grant:bob-id" }, new[] { "r4", "r3" })]
    [InlineData(new[] { "--decision", "deny" }, new[] { "r4", "r2" })]
    [InlineData(new[] { "--tool", "delete_repo" }, new[] { "r5" })]
    [InlineData(new[] { "--since", "2026-03-01T12:02:00Z", "--until", "2026-03-01T12:04:00Z" }, new[] { "r3", "r2" })]
    [InlineData(new[] { "--server", "gl", "--decision", "deny", "--principal", "alice" }, new[] { "r2" })]
    [InlineData(new[] { "--limit", "2" }, new[] { "r5", "r4" })]
    public async Task Logs_Filters(string[] filters, string[] expected)
    {
        await SeedAsync();
        var result = await RunAsync(["--json", "logs", .. filters]);
        Assert.Equal(0, result.Code);
        var page = JsonNode.Parse(result.Output)!;
        Assert.Equal(expected, page["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Logs_Jsonl_ExportsEveryMatchingRecord_OneObjectPerLine()
    {
        await SeedAsync(extra: 1500);
        var result = await RunAsync("logs", "--format", "jsonl");
        Assert.Equal(0, result.Code);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // More than one query page (1000), and nothing truncated: an export is complete unless --limit says otherwise.
        Assert.Equal(1505, lines.Length);
        var first = JsonNode.Parse(lines[0])!.AsObject();
        Assert.Equal("gh", first["server"]!.GetValue<string>());
        Assert.Equal(["query", "limit"], first["argumentKeys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.True(first.ContainsKey("latencyMs"));
        Assert.Equal(1505, lines.Select(l => JsonNode.Parse(l)!["id"]!.GetValue<long>()).Distinct().Count());

        var filtered = await RunAsync("logs", "--format", "jsonl", "--decision", "deny");
        Assert.Equal(2, filtered.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Logs_JsonPage_GivesACursorForTheNextPage()
    {
        await SeedAsync();
        var first = JsonNode.Parse((await RunAsync("--json", "logs", "--limit", "3")).Output)!;
        var next = first["next"]!.GetValue<string>();
        var second = JsonNode.Parse((await RunAsync("--json", "logs", "--limit", "3", "--before", next)).Output)!;
        Assert.Equal(["r2", "r1"], second["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));
        Assert.Null(second["next"]);
    }

    [Theory]
    [InlineData("logs", "--since", "yesterday")]
    [InlineData("logs", "--decision", "maybe")]
    [InlineData("logs", "--limit", "0")]
    [InlineData("logs", "--before", "abc")]
    [InlineData("audit", "--limit", "5000")]
    public async Task Logs_BadInput_FailsWithAnError(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.NotEqual(0, result.Code);
        Assert.NotEmpty(result.Error);
    }

    [Fact]
    public async Task Logs_EmptyLog_SaysSo()
    {
        var result = await RunAsync("logs");
        Assert.Equal(0, result.Code);
        Assert.Contains("No decisions", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_ListsAServerAdd_WithWhoWhatAndWhen()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "gh", "--url", "https://mcp.example.com/mcp", "--header", "X-Key: audit-secret-1")).Code);
        Assert.Equal(0, (await RunAsync("server", "remove", "gh")).Code);

        var table = await RunAsync("audit");
        Assert.Equal(0, table.Code);
        var lines = table.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("ACTOR", lines[0], StringComparison.Ordinal);
        Assert.Contains("server.remove", lines[1], StringComparison.Ordinal);
        Assert.Contains("server.add", lines[2], StringComparison.Ordinal);
        Assert.Contains("gh", lines[2], StringComparison.Ordinal);
        Assert.Contains("cli", lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain("audit-secret-1", table.Output, StringComparison.Ordinal);

        var json = JsonNode.Parse((await RunAsync("--json", "audit", "--limit", "1")).Output)!;
        var item = Assert.Single(json["items"]!.AsArray())!;
        Assert.Equal("server.remove", item["action"]!.GetValue<string>());
        Assert.NotNull(item["at"]);
        Assert.NotNull(json["next"]);
    }

    /// <summary>r1 gh/alice allow, r2 gl/alice deny, r3 gh/bob allow, r4 gl/bob deny, r5 gh/carol error on delete_repo; then <paramref name="extra"/> older ones.</summary>
    private async Task SeedAsync(int extra = 0)
    {
        var storage = new GatehouseStorage(_dir);
        await storage.InitializeAsync();
        // The records carry fixed past times; a long retention keeps the purge at start from removing them.
        await using var writer = new DecisionLogWriter(storage, new DecisionLogOptions { Retention = TimeSpan.FromDays(36500) }, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        for (var i = 0; i < extra; i++)
        {
            writer.Record(Make(T0.AddSeconds(-i - 1), "gh", "zed", DecisionKinds.Allow, "search", $"old-{i}"));
        }

        writer.Record(Make(T0.AddMinutes(1), "gh", "alice", DecisionKinds.Allow, "search", "r1"));
        writer.Record(Make(T0.AddMinutes(2), "gl", "alice", DecisionKinds.Deny, "push", "r2"));
        writer.Record(Make(T0.AddMinutes(3), "gh", "bob", DecisionKinds.Allow, "search", "r3"));
        writer.Record(Make(T0.AddMinutes(4), "gl", "bob", DecisionKinds.Deny, "push", "r4"));
        writer.Record(Make(T0.AddMinutes(5), "gh", "carol", DecisionKinds.Error, "delete_repo", "r5"));
        writer.Start();
        await writer.StopAsync();
    }

    private static DecisionRecord Make(DateTimeOffset at, string server, string label, string decision, string target, string requestId) =>
        new(at, requestId, $"grant:{label}-id", label, server, "tools/call", target, decision, decision == DecisionKinds.Deny ? "/rules/0" : "(no policy)", null,
            ["query", "limit"], null, decision == DecisionKinds.Allow ? 200 : null, 4.5, decision == DecisionKinds.Error ? "GH1501" : null, null);

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
