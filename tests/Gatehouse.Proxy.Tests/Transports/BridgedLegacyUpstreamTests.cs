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
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.LegacySse, new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", "legacy-secret") });
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("old", upstream.SseUri, transport, "X-Api-Key: legacy-secret");
        var token = await gateway.CreateGrantAsync("laptop", "old");

        await using (var client = await gateway.ConnectAsync("old", token, options: new McpClientOptions { ProtocolVersion = "2025-11-25" }))
        {
            Assert.Contains(await client.ListToolsAsync(), t => t.Name == "echo");
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "bridged" });
            Assert.Equal("bridged", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);
            var sum = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 40, ["b"] = 2 });
            Assert.Equal("42", Assert.IsType<TextContentBlock>(sum.Content.Single()).Text);
        }

        Assert.Contains(upstream.Requests, r => r.Method == "GET" && r.Path == "/sse");
        Assert.All(upstream.Requests, r => Assert.False(r.HasHeader("Authorization")));
    }

    [Fact]
    public async Task BridgedSession_RelaysServerToClientRequestsAndProgress()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.LegacySse);
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("old", upstream.SseUri, "sse");
        var token = await gateway.CreateGrantAsync("laptop", "old");
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

        await using var client = await gateway.ConnectAsync("old", token, options: options);
        var sampled = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hi" });
        Assert.Contains("bridged sample", Assert.IsType<TextContentBlock>(sampled.Content.Single()).Text, StringComparison.Ordinal);

        var (progress, done) = CallbackProgress.Counting(3);
        await client.CallToolAsync("progress", progress: progress);
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task BridgedSession_IsBoundToItsGrant_AndEndsOnDelete()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.LegacySse);
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("old", upstream.SseUri, "sse");
        var alice = await gateway.CreateGrantAsync("alice", "old");
        var bob = await gateway.CreateGrantAsync("bob", "old");

        using var init = await gateway.PostAsync("old", alice, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var sessionId = init.Headers.GetValues("Mcp-Session-Id").Single();
        const string list = """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""";
        void WithSession(HttpRequestMessage r)
        {
            r.Headers.Add("Mcp-Session-Id", sessionId);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        }

        using (var asBob = await gateway.PostAsync("old", bob, list, WithSession))
        {
            Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
        }

        using var delete = new HttpRequestMessage(HttpMethod.Delete, gateway.McpUri("old"));
        delete.Headers.Add("Authorization", $"Bearer {alice}");
        delete.Headers.Add("Mcp-Session-Id", sessionId);
        using (var deleted = await gateway.Http.SendAsync(delete))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using var after = await gateway.PostAsync("old", alice, list, WithSession);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }
}
