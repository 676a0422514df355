using System.Text.Json.Nodes;

namespace Gatehouse.Host.Tests.Cli;

public sealed class ApplyAndCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-cli-").FullName;

    [Fact]
    public async Task Apply_IsIdempotent_AndUpdatesWhatChanged()
    {
        Environment.SetEnvironmentVariable("GATEHOUSE_TEST_UPSTREAM_TOKEN", "tok-1");
        var file = Path.Combine(_dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(file, """
            servers:
              - name: github
                url: https://mcp.example.com/mcp
                transport: streamable-http
                headers:
                  Authorization: "Bearer ${GATEHOUSE_TEST_UPSTREAM_TOKEN}"
              - name: legacy
                url: https://old.example.com/sse
                transport: sse
            """);

        var first = await RunAsync("--json", "apply", "-f", file);
        Assert.Equal(0, first.Code);
        Assert.All(JsonNode.Parse(first.Output)!["changes"]!.AsArray(), c => Assert.Equal("created", c!["action"]!.GetValue<string>()));

        var second = await RunAsync("apply", "-f", file);
        Assert.Equal(0, second.Code);
        Assert.Contains("Nothing to change.", second.Output, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("GATEHOUSE_TEST_UPSTREAM_TOKEN", "tok-2");
        var third = await RunAsync("apply", "-f", file);
        Assert.Contains("server github: updated", third.Output, StringComparison.Ordinal);
        Assert.Contains("server legacy: unchanged", third.Output, StringComparison.Ordinal);

        var show = await RunAsync("--json", "server", "show", "github");
        Assert.DoesNotContain("tok-2", show.Output, StringComparison.Ordinal);
        Assert.Equal("Authorization", JsonNode.Parse(show.Output)!["headerNames"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Apply_InvalidFile_ReportsLineAndChangesNothing()
    {
        var file = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(file, "servers:\n  - name: ok\n    url: https://a.example.com/mcp\n    colour: blue\n");
        var result = await RunAsync("apply", "-f", file);
        Assert.NotEqual(0, result.Code);
        Assert.Contains("line 4", result.Error, StringComparison.Ordinal);
        Assert.Contains("nothing changed", result.Error, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("GATEHOUSE_TEST_MISSING", null);
        await File.WriteAllTextAsync(file, "servers:\n  - name: ok\n    url: https://a.example.com/mcp\n    headers:\n      X-Key: ${GATEHOUSE_TEST_MISSING}\n");
        var missing = await RunAsync("apply", "-f", file);
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("GATEHOUSE_TEST_MISSING", missing.Error, StringComparison.Ordinal);

        var list = await RunAsync("--json", "server", "list");
        Assert.Empty(JsonNode.Parse(list.Output)!.AsArray());
    }

    [Theory]
    [InlineData("server", "add", "Bad_Name", "--url", "https://x.example.com/mcp")]
    [InlineData("server", "add", "ok", "--url", "ftp://x.example.com")]
    [InlineData("server", "add", "ok", "--url", "https://x.example.com/mcp", "--transport", "carrier-pigeon")]
    [InlineData("grant", "create", "--server", "nope", "--label", "laptop")]
    [InlineData("grant", "create", "--server", "nope", "--label", "laptop", "--expires", "soon")]
    [InlineData("grant", "revoke", "nobody")]
    public async Task BadInput_FailsWithAnErrorThatSaysWhatToDo(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.NotEqual(0, result.Code);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantList_ShowsLabelServersStatusAndExpiry_NeverTheToken()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "gh", "--url", "https://mcp.example.com/mcp")).Code);
        var created = await RunAsync("--json", "grant", "create", "--server", "gh", "--label", "ci-runner", "--expires", "30d");
        var token = JsonNode.Parse(created.Output)!["token"]!.GetValue<string>();
        Assert.StartsWith("gth_", token, StringComparison.Ordinal);

        var list = await RunAsync("grant", "list");
        Assert.Contains("ci-runner", list.Output, StringComparison.Ordinal);
        Assert.Contains("active", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(token, list.Output, StringComparison.Ordinal);

        var duplicate = await RunAsync("grant", "create", "--server", "gh", "--label", "ci-runner");
        Assert.NotEqual(0, duplicate.Code);
        Assert.Contains("already exists", duplicate.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_on_a_per_user_server_explains_that_each_person_connects_their_own_account()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "personal", "--url", "https://mcp.example.com/mcp", "--auth", "oauth", "--per-user")).Code);
        var connect = await RunAsync("server", "connect", "personal");
        Assert.Equal(1, connect.Code);
        Assert.Contains("per-user connections", connect.Error, StringComparison.Ordinal);
        Assert.Contains("their own account", connect.Error, StringComparison.Ordinal);
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
