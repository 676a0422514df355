using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>A 2025-03-26 batch leaves one decision-log record per member, each with its own target and decision.</summary>
public sealed class BatchDecisionLogTests
{
    private static async Task<List<JsonNode>> BatchRecordsAsync(string batch)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", """
            version: 1
            default: allow
            tools:
              add: deny
            """, "--server", s.Server);
        using var init = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody.Replace("2025-11-25", "2025-03-26", StringComparison.Ordinal));
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        using var response = await s.Gateway.PostAsync(s.Server, s.Token, batch, r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-03-26");
        });
        // The SDK upstream refuses batches (400), which is relayed; what matters here is the log.
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, response.StatusCode.ToString());
        await response.Content.ReadAsStringAsync();
        await s.Gateway.StopAsync();
        var (code, output, error) = await s.Gateway.CliAsync("logs", "--format", "jsonl", "--server", s.Server);
        Assert.True(code == 0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Where(r => r["method"]!.GetValue<string>() is not ("initialize" or "GET" or "DELETE")).ToList();
    }

    [Fact]
    public async Task RefusedBatch_RecordsEachMember_WithItsOwnTargetAndDecision()
    {
        var records = await BatchRecordsAsync("""
            [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}},
             {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}]
            """);

        Assert.Equal(2, records.Count);
        var echo = records.Single(r => r["target"]?.GetValue<string>() == "echo");
        var add = records.Single(r => r["target"]?.GetValue<string>() == "add");
        Assert.Equal("tools/call", echo["method"]!.GetValue<string>());
        Assert.Equal("allow", echo["decision"]!.GetValue<string>());
        Assert.Contains("Not forwarded", echo["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["text"], echo["argumentKeys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.Equal("deny", add["decision"]!.GetValue<string>());
        Assert.Equal("/tools/add", add["rule"]!.GetValue<string>());
        Assert.Equal("GH1601", add["errorCode"]!.GetValue<string>());
    }

    [Fact]
    public async Task ForwardedBatch_RecordsEachMember_WithTheRequestsUpstreamStatus_UnderOneRequestId()
    {
        var records = await BatchRecordsAsync("""
            [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}},
             {"jsonrpc":"2.0","id":2,"method":"ping"}]
            """);

        Assert.Equal(2, records.Count);
        Assert.Equal(["tools/call", "ping"], records.Select(r => r["method"]!.GetValue<string>()).Order(StringComparer.Ordinal).Reverse());
        Assert.Equal("echo", records.Single(r => r["method"]!.GetValue<string>() == "tools/call")["target"]!.GetValue<string>());
        Assert.All(records, r => Assert.NotNull(r["upstreamStatus"]));
        Assert.Single(records.Select(r => r["requestId"]!.GetValue<string>()).Distinct());
    }
}
