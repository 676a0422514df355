using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Transports;

public sealed class StatelessAndLegacyTests
{
    [Fact]
    public async Task Stateless2026Client_CallsToolThroughGateway_WithoutSessions()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);

        await using var client = await s.Gateway.ConnectAsync("echo", s.Token, options: new McpClientOptions { ProtocolVersion = "2026-07-28" });
        Assert.Equal("2026-07-28", client.NegotiatedProtocolVersion);
        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "stateless" });
        Assert.Equal("stateless", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);

        var calls = s.Upstream.Requests.Where(r => r.Method == "POST" && r.Body?.Contains("tools/call", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, r =>
        {
            Assert.Equal("tools/call", r.GetHeader("Mcp-Method"));
            Assert.Equal("echo", r.GetHeader("Mcp-Name"));
            Assert.False(r.HasHeader("Mcp-Session-Id"));
        });
    }

    [Theory]
    [InlineData("tools/list", null, "Mcp-Method")]
    [InlineData("tools/call", "other", "Mcp-Name")]
    [InlineData(null, null, "Mcp-Method")]
    public async Task Stateless2026_HeaderBodyMismatch_Is400WithCode32020(string? methodHeader, string? nameHeader, string culprit)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);

        using var response = await s.Gateway.PostAsync("echo", s.Token, """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}""", r =>
        {
            r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
            if (methodHeader is not null)
            {
                r.Headers.Add("Mcp-Method", methodHeader);
            }

            r.Headers.Add("Mcp-Name", nameHeader ?? "echo");
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal(7, body.GetProperty("id").GetInt32());
        Assert.Equal(-32020, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains(culprit, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(s.Upstream.Requests, r => r.Method == "POST" && r.Path == "/mcp");
    }

    [Fact]
    public async Task Stateless2026_McpParamHeadersAndBase64Names_AreForwarded()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);

        using var response = await s.Gateway.PostAsync("echo", s.Token, """{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}""", r =>
        {
            r.Headers.Add("MCP-Protocol-Version", "2026-07-28");
            r.Headers.Add("Mcp-Method", "tools/call");
            r.Headers.Add("Mcp-Name", "=?base64?" + Convert.ToBase64String("echo"u8) + "?=");
            r.Headers.Add("Mcp-Param-Region", "eu-west");
        });

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Contains(s.Upstream.Requests, r => r.GetHeader("Mcp-Param-Region") == "eu-west");
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task Stateless2026_GetAndDelete_Are405(string method)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);

        using var request = new HttpRequestMessage(new HttpMethod(method), s.Gateway.McpUri("echo"));
        request.Headers.Add("Authorization", $"Bearer {s.Token}");
        request.Headers.Add("MCP-Protocol-Version", "2026-07-28");
        request.Headers.Add("Accept", "text/event-stream");
        using var response = await s.Gateway.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task BatchOutside2025_03_26_IsRejected()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var response = await s.Gateway.PostAsync("echo", s.Token, """[{"jsonrpc":"2.0","id":1,"method":"ping"}]""", r => r.Headers.Add("MCP-Protocol-Version", "2025-06-18"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1304", GatewayHarness.ErrorCode(body));
    }

    [Fact]
    public async Task LegacySseClient_CallsToolThroughGateway_OnLegacyUpstream()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old", headers: "X-Api-Key: legacy-secret");

        await using (var client = await s.Gateway.ConnectAsync("old", s.Token, HttpTransportMode.Sse, path: "/sse"))
        {
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "from 2024" });
            Assert.Equal("from 2024", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);
        }

        Assert.Contains(s.Upstream.Requests, r => r.Method == "GET" && r.Path == "/sse");
        Assert.Contains(s.Upstream.Requests, r => r.Method == "POST" && r.Path.StartsWith("/message", StringComparison.Ordinal));
        Assert.All(s.Upstream.Requests, r =>
        {
            Assert.False(r.HasHeader("Authorization"));
            Assert.Equal("legacy-secret", r.GetHeader("X-Api-Key"));
        });
    }

    [Fact]
    public async Task LegacySseClient_PlainGetOnServerUrl_GetsGatewayEndpointEvent()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old");

        using var request = new HttpRequestMessage(HttpMethod.Get, s.Gateway.McpUri("old"));
        request.Headers.Add("Authorization", $"Bearer {s.Token}");
        request.Headers.Add("Accept", "text/event-stream");
        using var response = await s.Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("event: endpoint", await reader.ReadLineAsync());
        var data = await reader.ReadLineAsync();
        Assert.StartsWith("data: /mcp/old/message?session=", data, StringComparison.Ordinal);
        Assert.DoesNotContain(s.Upstream.BaseUri.Authority, data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegacyMessageEndpoint_WithAnotherGrantsSession_Is404()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse, "old");
        var alice = s.Token; // the scenario's grant opens the session; bob is a second grant
        var bob = await s.Gateway.CreateGrantAsync("bob", "old");

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s.Gateway.McpUri("old") + "/sse"));
        request.Headers.Add("Authorization", $"Bearer {alice}");
        using var stream = await s.Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();
        var endpoint = (await reader.ReadLineAsync())!["data: ".Length..];

        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(s.Gateway.BaseUri, endpoint))
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("Authorization", $"Bearer {bob}");
        using var response = await s.Gateway.Http.SendAsync(post);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
