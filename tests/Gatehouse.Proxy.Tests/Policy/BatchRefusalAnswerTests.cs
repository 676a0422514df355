using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>A 2025-03-26 batch that policy refuses is answered with a batch: one response per request member.</summary>
public sealed class BatchRefusalAnswerTests
{
    [Fact]
    public async Task RefusedBatch_IsAnsweredWithAnArray_TheRefusedMembersErrorAndNotForwardedForEveryOtherRequest()
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
        var before = s.Upstream.Requests.Count;

        using var response = await s.Gateway.PostAsync(s.Server, s.Token, """
            [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}},
             {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}},
             {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}},
             {"jsonrpc":"2.0","id":3,"method":"ping"}]
            """, r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-03-26");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        var members = Assert.IsType<JsonArray>(answer).Select(m => m!).ToList();
        Assert.Equal(["1", "\"b\"", "3"], members.Select(m => m["id"]!.ToJsonString()));
        Assert.All(members, m => Assert.Equal("2.0", m["jsonrpc"]!.GetValue<string>()));
        Assert.Equal("GH1601", members[1]["error"]!["data"]!["gatehouseError"]!.GetValue<string>());
        foreach (var other in new[] { members[0], members[2] })
        {
            Assert.Null(other["result"]);
            Assert.Equal("GH1340", other["error"]!["data"]!["gatehouseError"]!.GetValue<string>());
            var message = other["error"]!["message"]!.GetValue<string>();
            Assert.Contains("not forwarded", message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("id \"b\"", message, StringComparison.Ordinal);
        }

        // Nothing of the batch went upstream.
        Assert.Equal(before, s.Upstream.Requests.Count);
    }

    [Fact]
    public async Task RefusedBatch_WithOnlyTheRefusedRequest_AndNotifications_IsAnsweredWithAOneMemberArray()
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

        using var response = await s.Gateway.PostAsync(s.Server, s.Token, """
            [{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}},
             {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}]
            """, r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-03-26");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var only = Assert.Single(Assert.IsType<JsonArray>(JsonNode.Parse(await response.Content.ReadAsStringAsync())));
        Assert.Equal(7, only!["id"]!.GetValue<int>());
        Assert.Equal("GH1601", only["error"]!["data"]!["gatehouseError"]!.GetValue<string>());
    }
}
