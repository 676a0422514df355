using System.Text.Json;
using Gatehouse.Proxy.Tests.Infrastructure;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>
/// Lists from an upstream that tries to slip hidden entries past the filter: on GET and resumed streams, too deep to
/// read, or in a shape the filter does not expect. Each is filtered or withheld, never relayed as it came.
/// </summary>
public sealed class ListFilterFailClosedTests : IAsyncLifetime
{
    private const string HideSecret = """
        version: 1
        default: allow
        tools:
          secret_tool: hide
        """;

    private HostileUpstream _upstream = null!;
    private GatewayHarness _gateway = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _upstream = await HostileUpstream.StartAsync();
        _gateway = await GatewayHarness.StartAsync();
        await _gateway.AddServerAsync("hostile", _upstream.McpUri);
        await _gateway.AddServerAsync("hostile-sse", _upstream.SseUri, "sse");
        _token = await _gateway.CreateGrantAsync("laptop", "hostile", "hostile-sse");
        await _gateway.ApplyPolicyAsync("p", HideSecret, "--server", "hostile");
        await _gateway.ApplyPolicyAsync("p-sse", HideSecret, "--server", "hostile-sse");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<string> SessionAsync()
    {
        using var init = await _gateway.PostAsync("hostile", _token, GatewayHarness.InitializeBody);
        return init.Headers.GetValues("Mcp-Session-Id").Single();
    }

    private async Task<string> GetStreamAsync(string session, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _gateway.McpUri("hostile"));
        request.Headers.Authorization = new("Bearer", _token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Add("Mcp-Session-Id", session);
        request.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await _gateway.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static List<JsonElement> Events(string sse) =>
        sse.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[5..].Trim()).RootElement.Clone()).ToList();

    [Fact]
    public async Task ListsOnGetAndResumedStreams_AreFiltered_AndOnesThatCannotBeAreWithheld()
    {
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"secret_tool","inputSchema":{"type":"object"}},{"name":"ok_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":100,"result":{"Tools":[{"name":"secret_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("{\"jsonrpc\":\"2.0\",\"id\":101,\"result\":{\"tools\":[{\"name\":\"secret_tool\",\"x\":" + new string('[', 200) + new string(']', 200) + "}]}}");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"still here"}}""");
        var session = await SessionAsync();

        foreach (var lastEventId in new string?[] { null, "1" })
        {
            var stream = await GetStreamAsync(session, lastEventId);

            Assert.DoesNotContain("secret_tool", stream, StringComparison.Ordinal);
            var events = Events(stream);
            Assert.Equal(4, events.Count);
            Assert.Equal(["ok_tool"], events[0].GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
            Assert.Equal(100, events[1].GetProperty("id").GetInt32());
            Assert.Equal("GH1610", GatewayHarness.ErrorCode(events[1]));
            Assert.Contains("'Tools'", events[1].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(101, events[2].GetProperty("id").GetInt32());
            Assert.Equal("GH1610", GatewayHarness.ErrorCode(events[2]));
            Assert.Equal("still here", events[3].GetProperty("params").GetProperty("data").GetString());
        }

        Assert.Equal(["", "1"], _upstream.LastEventIds);
    }

    public static TheoryData<string, string> Unfilterable => new()
    {
        // A JSON body past the relay's own depth limit is refused as unreadable (GH1503) before the filter sees it.
        { "{\"tools\":[{\"name\":\"secret_tool\",\"x\":" + new string('[', 200) + new string(']', 200) + "}]}", "deeper than 64 levels" },
        { """{"tools":{"secret_tool":{"name":"secret_tool"}}}""", "not an array" },
        { """{"tools":[{"name":"ok_tool"}],"tools":[{"name":"secret_tool"}]}""", "repeated" },
        { """{"tools":[{"Name":"secret_tool"}]}""", "'Name'" },
        { """{"tools":[{"name":["secret_tool"]}]}""", "no string 'name'" },
        { """{"prompts":[{"name":"secret_tool"}]}""", "no 'tools' array" },
    };

    [Theory]
    [MemberData(nameof(Unfilterable))]
    public async Task ToolsList_ThatCannotBeFiltered_IsWithheld(string result, string reason)
    {
        _upstream.Results["tools/list"] = result;
        var session = await SessionAsync();

        using var response = await _gateway.PostAsync("hostile", _token, """{"jsonrpc":"2.0","id":5,"method":"tools/list"}""", r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        });
        var text = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("secret_tool", text, StringComparison.Ordinal);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(5, body.GetProperty("id").GetInt32());
        Assert.Equal(reason.StartsWith("deeper", StringComparison.Ordinal) ? "GH1503" : "GH1610", GatewayHarness.ErrorCode(body));
        Assert.Contains(reason, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"tools":[{"name":"secret_tool"},{"name":"ok_tool"}],"cacheScope":"public","ttlMs":60000}""", "private")]
    [InlineData("""{"tools":[{"name":"ok_tool"}],"cacheScope":"public","ttlMs":60000}""", "public")]
    [InlineData("""{"tools":[{"name":"ok_tool"}],"cacheScope":"","ttlMs":60000}""", "private")]
    [InlineData("""{"tools":[{"name":"ok_tool"}],"ttlMs":60000}""", null)]
    public async Task FilteredList_ForA20260728Client_IsPrivate_AndAnInvalidScopeIsNeverPassedOn(string result, string? scope)
    {
        _upstream.Results["tools/list"] = result;

        using var response = await _gateway.PostAsync("hostile", _token,
            """{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}""", r =>
            {
                r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
                r.Headers.Add("Mcp-Method", "tools/list");
            });
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        var listed = body.GetProperty("result");
        Assert.Equal(["ok_tool"], listed.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(scope, listed.TryGetProperty("cacheScope", out var s) ? s.GetString() : null);
        Assert.Equal(60000, listed.GetProperty("ttlMs").GetInt32());
    }

    [Fact]
    public async Task ListsRelayedToABridgedHttpSseClient_AreFiltered_AndOnesThatCannotBeAreWithheld()
    {
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"secret_tool","inputSchema":{"type":"object"}},{"name":"ok_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":100,"result":{"Tools":[{"name":"secret_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"still here"}}""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var open = new HttpRequestMessage(HttpMethod.Get, new Uri(_gateway.BaseUri, "mcp/hostile/sse"));
        open.Headers.Authorization = new("Bearer", _token);
        open.Headers.Accept.ParseAdd("text/event-stream");
        using var stream = await _gateway.Http.SendAsync(open, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
        var endpoint = await NextDataAsync(reader, timeout.Token);

        foreach (var message in new[] { GatewayHarness.InitializeBody, """{"jsonrpc":"2.0","method":"notifications/initialized"}""" })
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateway.BaseUri, endpoint)) { Content = new StringContent(message, System.Text.Encoding.UTF8, "application/json") };
            post.Headers.Authorization = new("Bearer", _token);
            using var accepted = await _gateway.Http.SendAsync(post, timeout.Token);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        }

        var events = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            events.Add(await NextDataAsync(reader, timeout.Token));
        }

        Assert.All(events, e => Assert.DoesNotContain("secret_tool", e, StringComparison.Ordinal));
        var parsed = events.Select(e => JsonDocument.Parse(e).RootElement.Clone()).ToList();
        // The initialize answer and the upstream's GET stream are forwarded in the background, so their order is open.
        static int? Id(JsonElement e) => e.TryGetProperty("id", out var id) ? id.GetInt32() : null;
        Assert.Contains(parsed, e => Id(e) == 1 && e.TryGetProperty("result", out _));
        Assert.Equal(["ok_tool"], parsed.Single(e => Id(e) == 99).GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("GH1610", GatewayHarness.ErrorCode(parsed.Single(e => Id(e) == 100)));
        Assert.Equal("still here", parsed.Single(e => Id(e) is null).GetProperty("params").GetProperty("data").GetString());
    }

    private static async Task<string> NextDataAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        // Bounded by the stream's own end and the caller's timeout.
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                return line[5..].Trim();
            }
        }

        throw new EndOfStreamException("The SSE stream ended before the expected event.");
    }

    [Fact]
    public async Task ListsOnTheGetStreamOfABridgedHttpSseUpstream_AreFiltered_AndOnesThatCannotBeAreWithheld()
    {
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"secret_tool","inputSchema":{"type":"object"}},{"name":"ok_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","id":100,"result":{"Tools":[{"name":"secret_tool","inputSchema":{"type":"object"}}]}}""");
        _upstream.StreamMessages.Add("""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"still here"}}""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var init = await _gateway.PostAsync("hostile-sse", _token, GatewayHarness.InitializeBody);
        Assert.Equal(System.Net.HttpStatusCode.OK, init.StatusCode);
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();

        using var get = new HttpRequestMessage(HttpMethod.Get, _gateway.McpUri("hostile-sse"));
        get.Headers.Authorization = new("Bearer", _token);
        get.Headers.Accept.ParseAdd("text/event-stream");
        get.Headers.Add("Mcp-Session-Id", session);
        get.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        using var stream = await _gateway.Http.SendAsync(get, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            events.Add(await NextDataAsync(reader, timeout.Token));
        }

        Assert.All(events, e => Assert.DoesNotContain("secret_tool", e, StringComparison.Ordinal));
        var parsed = events.Select(e => JsonDocument.Parse(e).RootElement.Clone()).ToList();
        Assert.Equal(["ok_tool"], parsed[0].GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("GH1610", GatewayHarness.ErrorCode(parsed[1]));
        Assert.Equal("still here", parsed[2].GetProperty("params").GetProperty("data").GetString());
    }
}
