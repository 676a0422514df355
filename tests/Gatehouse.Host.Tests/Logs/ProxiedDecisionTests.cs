using System.Text.Json.Nodes;
using Gatehouse.Host.Hosting;
using Gatehouse.Testing;
using Microsoft.AspNetCore.Builder;
using ModelContextProtocol.Client;

namespace Gatehouse.Host.Tests.Logs;

public sealed class ProxiedDecisionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-proxied-").FullName;

    [Fact]
    public async Task AProxiedToolCall_IsInTheLogAfterAGracefulStop_WithArgumentKeysButNoValues()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = _dir, Urls = "http://127.0.0.1:0" });
        await app.StartAsync();
        Assert.Equal(0, (await RunAsync("server", "add", "up", "--url", upstream.McpUri.ToString(), "--transport", "streamable-http")).Code);
        var token = JsonNode.Parse((await RunAsync("--json", "grant", "create", "--server", "up", "--label", "laptop")).Output)!["token"]!.GetValue<string>();

        var address = GatehouseApplication.ListeningAddresses(app).Single().TrimEnd('/');
        await using (var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri($"{address}/mcp/up"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" },
        })))
        {
            await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "value-that-must-not-be-logged" });
        }

        await app.StopAsync();
        await app.DisposeAsync();

        var logs = await RunAsync("logs", "--format", "jsonl", "--tool", "echo");
        Assert.Equal(0, logs.Code);
        var entry = JsonNode.Parse(Assert.Single(logs.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)))!;
        Assert.Equal(("laptop", "up", "tools/call", "allow"),
            (entry["principalLabel"]!.GetValue<string>(), entry["server"]!.GetValue<string>(), entry["method"]!.GetValue<string>(), entry["decision"]!.GetValue<string>()));
        Assert.Equal(["text"], entry["argumentKeys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.DoesNotContain("value-that-must-not-be-logged", logs.Output, StringComparison.Ordinal);

        var table = (await RunAsync("logs", "--principal", "laptop")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(table, line => line.Contains("tools/call", StringComparison.Ordinal) && line.Contains("echo", StringComparison.Ordinal) && line.Contains(" 200 ", StringComparison.Ordinal));
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
