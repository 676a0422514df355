using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Transports;

public sealed class StreamableHttpTests
{
    [Theory]
    [InlineData("2025-03-26")]
    [InlineData("2025-06-18")]
    [InlineData("2025-11-25")]
    public async Task ToolCall_ThroughGateway_ReachesStatefulUpstream_InEachSessionEra(string protocolVersion)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        await using var client = await s.Gateway.ConnectAsync("echo", s.Token, options: new McpClientOptions { ProtocolVersion = protocolVersion });
        Assert.Equal(protocolVersion, client.NegotiatedProtocolVersion);
        var tools = await client.ListToolsAsync();
        Assert.Contains(tools, t => t.Name == "echo");
        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hello" });
        Assert.Equal("hello", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);

        var sessionIds = s.Upstream.Requests.Where(r => r.Method == "POST").Select(r => r.GetHeader("Mcp-Session-Id")).Where(id => id is not null).Distinct().ToList();
        Assert.Single(sessionIds);
        Assert.NotEqual(sessionIds[0], client.SessionId);
    }

    [Fact]
    public async Task ClientCredentials_NeverReachTheUpstream_AndInjectedHeaderDoes()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "keyed", upstreamOptions: new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", "upstream-secret") }, headers: "X-Api-Key: upstream-secret");

        await using (var client = await s.Gateway.ConnectAsync("keyed", s.Token))
        {
            var result = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 });
            Assert.Equal("5", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);
        }

        Assert.NotEmpty(s.Upstream.Requests);
        Assert.All(s.Upstream.Requests, r =>
        {
            Assert.False(r.HasHeader("Authorization"));
            Assert.False(r.HasHeader("Cookie"));
            Assert.Equal("upstream-secret", r.GetHeader("X-Api-Key"));
        });
    }

    [Fact]
    public async Task ServerToClientRequestsAndNotifications_ReachTheClient()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        var options = new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                SamplingHandler = (request, _, _) => ValueTask.FromResult(new CreateMessageResult
                {
                    Model = "test-model", Role = Role.Assistant, Content = [new TextContentBlock { Text = "sampled answer" }],
                }),
                RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [new Root { Uri = "file:///workspace" }] }),
            },
        };

        await using var client = await s.Gateway.ConnectAsync("echo", s.Token, options: options);
        var sampled = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hi" });
        Assert.Contains("sampled answer", Assert.IsType<TextContentBlock>(sampled.Content.Single()).Text, StringComparison.Ordinal);

        var roots = await client.CallToolAsync("roots");
        Assert.Contains("file:///workspace", Assert.IsType<TextContentBlock>(roots.Content.Single()).Text, StringComparison.Ordinal);

        var (progress, done) = CallbackProgress.Counting(3);
        await client.CallToolAsync("progress", progress: progress);
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Session_UsedByAnotherGrant_IsRejectedWith404()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        var alice = s.Token; // the scenario's grant opens the session; bob is a second grant
        var bob = await s.Gateway.CreateGrantAsync("bob", "echo");

        using var init = await s.Gateway.PostAsync("echo", alice, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var sessionId = init.Headers.GetValues("Mcp-Session-Id").Single();

        const string list = """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""";
        void WithSession(HttpRequestMessage r)
        {
            r.Headers.Add("Mcp-Session-Id", sessionId);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        }

        using var asAlice = await s.Gateway.PostAsync("echo", alice, list, WithSession);
        Assert.Equal(HttpStatusCode.OK, asAlice.StatusCode);

        using var asBob = await s.Gateway.PostAsync("echo", bob, list, WithSession);
        Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
        var error = await GatewayHarness.ReadJsonRpcAsync(asBob);
        Assert.Equal("GH1402", GatewayHarness.ErrorCode(error));
    }

    [Fact]
    public async Task ForgedOrUnknownSessionId_Gets404()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var response = await s.Gateway.PostAsync("echo", s.Token, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""",
            r => r.Headers.Add("Mcp-Session-Id", "not-a-gatehouse-session"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(s.Upstream.Requests, r => r.Method == "POST" && r.Path == "/mcp");
    }

    [Fact]
    public async Task Delete_EndsTheUpstreamSession_AndLaterUseGets404()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var init = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody);
        var sessionId = init.Headers.GetValues("Mcp-Session-Id").Single();

        using var delete = new HttpRequestMessage(HttpMethod.Delete, s.Gateway.McpUri("echo"));
        delete.Headers.Add("Authorization", $"Bearer {s.Token}");
        delete.Headers.Add("Mcp-Session-Id", sessionId);
        using var deleted = await s.Gateway.Http.SendAsync(delete);
        Assert.True(deleted.IsSuccessStatusCode, $"DELETE answered {deleted.StatusCode}");
        Assert.Contains(s.Upstream.Requests, r => r.Method == "DELETE");

        using var after = await s.Gateway.PostAsync("echo", s.Token, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", r =>
        {
            r.Headers.Add("Mcp-Session-Id", sessionId);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        });
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task GetStream_WithLastEventId_IsForwardedForResumption_AndRelayedAsSse()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var init = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody);
        var sessionId = init.Headers.GetValues("Mcp-Session-Id").Single();

        using var get = new HttpRequestMessage(HttpMethod.Get, s.Gateway.McpUri("echo"));
        get.Headers.Add("Authorization", $"Bearer {s.Token}");
        get.Headers.Add("Mcp-Session-Id", sessionId);
        get.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        get.Headers.Add("Accept", "text/event-stream");
        get.Headers.Add("Last-Event-ID", "some-event-7");
        using var stream = await s.Gateway.Http.SendAsync(get, HttpCompletionOption.ResponseHeadersRead);

        var forwarded = await s.Upstream.WaitForRequestAsync(r => r.Method == "GET").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("some-event-7", forwarded.GetHeader("Last-Event-ID"));
        Assert.NotNull(forwarded.GetHeader("Mcp-Session-Id"));
        Assert.NotEqual(sessionId, forwarded.GetHeader("Mcp-Session-Id"));
        Assert.False(forwarded.HasHeader("Authorization"));
    }

    [Fact]
    public async Task UnknownFields_InUpstreamResponses_SurviveByteForByte()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("raw", upstream.RawUri);
        var token = await gateway.CreateGrantAsync("laptop", "raw");

        using var response = await gateway.PostAsync("raw", token, """{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"x","x-extra":[1,2]}}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("""{"jsonrpc":"2.0","id":"abc","result":""" + TestUpstream.RawResultJson + ""","x-top":1}""", body);
        Assert.Contains(upstream.Requests, r => r.Body is not null && r.Body.Contains("\"x-extra\":[1,2]", StringComparison.Ordinal));
    }
}
