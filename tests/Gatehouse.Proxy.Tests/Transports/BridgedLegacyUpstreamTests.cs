using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Transports;

/// <summary>Streamable HTTP clients served from upstreams that speak only the 2024-11-05 HTTP+SSE transport.</summary>
public sealed class BridgedLegacyUpstreamTests
{
    [Theory]
    [InlineData("sse")]
    [InlineData("auto")]
    public async Task StreamableClient_CallsToolsOnAnHttpSseOnlyUpstream(string transport)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old", transport, new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", "legacy-secret") }, headers: "X-Api-Key: legacy-secret");

        await using (var client = await s.Gateway.ConnectAsync("old", s.Token, options: new McpClientOptions { ProtocolVersion = "2025-11-25" }))
        {
            Assert.Contains(await client.ListToolsAsync(), t => t.Name == "echo");
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "bridged" });
            Assert.Equal("bridged", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);
            var sum = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 40, ["b"] = 2 });
            Assert.Equal("42", Assert.IsType<TextContentBlock>(sum.Content.Single()).Text);
        }

        Assert.Contains(s.Upstream.Requests, r => r.Method == "GET" && r.Path == "/sse");
        Assert.All(s.Upstream.Requests, r => Assert.False(r.HasHeader("Authorization")));
    }

    [Fact]
    public async Task BridgedSession_RelaysServerToClientRequestsAndProgress()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old");
        var options = new McpClientOptions
        {
            ProtocolVersion = "2025-11-25",
            Handlers = new McpClientHandlers
            {
                SamplingHandler = (_, _, _) => ValueTask.FromResult(new CreateMessageResult
                {
                    Model = "m", Role = Role.Assistant, Content = [new TextContentBlock { Text = "bridged sample" }],
                }),
            },
        };

        await using var client = await s.Gateway.ConnectAsync("old", s.Token, options: options);
        var sampled = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hi" });
        Assert.Contains("bridged sample", Assert.IsType<TextContentBlock>(sampled.Content.Single()).Text, StringComparison.Ordinal);

        var (progress, done) = CallbackProgress.Counting(3);
        await client.CallToolAsync("progress", progress: progress);
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task BridgedSession_IsBoundToItsGrant_AndEndsOnDelete()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old");
        var alice = s.Token; // the scenario's grant opens the session; bob is a second grant
        var bob = await s.Gateway.CreateGrantAsync("bob", "old");

        using var init = await s.Gateway.PostAsync("old", alice, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var sessionId = init.Headers.GetValues("Mcp-Session-Id").Single();
        const string list = """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""";
        void WithSession(HttpRequestMessage r)
        {
            r.Headers.Add("Mcp-Session-Id", sessionId);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        }

        using (var asBob = await s.Gateway.PostAsync("old", bob, list, WithSession))
        {
            Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
        }

        using var delete = new HttpRequestMessage(HttpMethod.Delete, s.Gateway.McpUri("old"));
        delete.Headers.Add("Authorization", $"Bearer {alice}");
        delete.Headers.Add("Mcp-Session-Id", sessionId);
        using (var deleted = await s.Gateway.Http.SendAsync(delete))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using var after = await s.Gateway.PostAsync("old", alice, list, WithSession);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }
}
