using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>
/// Policy decides on exactly what the upstream will execute: hostile spellings of a denied target are refused before
/// they reach the (real) upstream, which records every request it receives.
/// </summary>
public sealed class EnvelopeHardeningProxyTests
{
    private const string DenyStaticText = """
        version: 1
        default: allow
        resources:
          "test://static-text": deny
        tools:
          test_simple_text: deny
        """;

    private static async Task<(ProxyScenario Scenario, string Session)> StartAsync(string policy)
    {
        var s = await ProxyScenario.StartAsync(UpstreamMode.Conformance);
        await s.Gateway.ApplyPolicyAsync("p", policy, "--server", s.Server);
        using var init = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        return (s, init.Headers.GetValues("Mcp-Session-Id").Single());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(ProxyScenario s, string session, string json)
    {
        using var response = await s.Gateway.PostAsync(s.Server, s.Token, json, r =>
        {
            r.Headers.Add("Mcp-Session-Id", session);
            r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        });
        return (response.StatusCode, await GatewayHarness.ReadJsonRpcAsync(response));
    }

    private static bool UpstreamSaw(ProxyScenario s, string method) =>
        s.Upstream.Requests.Any(r => r.Body?.Contains($"\"{method}\"", StringComparison.Ordinal) == true);

    [Fact]
    public async Task ResourcesRead_WithADecoyName_IsDecidedAndLoggedOnTheUri_AndTheUpstreamNeverReadsIt()
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (status, body) = await PostAsync(s, session, """{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"test://static-text","name":"test://ok"}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("GH1601", GatewayHarness.ErrorCode(body));
        Assert.False(UpstreamSaw(s, "resources/read"));
        await s.Gateway.StopAsync();
        var (code, output, error) = await s.Gateway.CliAsync("logs", "--format", "jsonl", "--server", s.Server);
        Assert.True(code == 0, error);
        var read = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Single(r => r["method"]!.GetValue<string>() == "resources/read");
        Assert.Equal("test://static-text", read["target"]!.GetValue<string>());
        Assert.Equal("deny", read["decision"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("TEST://static-text")]
    [InlineData("test://STATIC-TEXT")]
    [InlineData("test://static-text/")]
    [InlineData("test://static-text#x")]
    [InlineData("test://static%2Dtext")]
    [InlineData("test://static-text/x/..")]
    public async Task OtherSpellings_OfADeniedResource_AreDenied(string uri)
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (_, body) = await PostAsync(s, session, """{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":""" + JsonSerializer.Serialize(uri) + "}}");

        Assert.Equal("GH1601", GatewayHarness.ErrorCode(body));
        Assert.False(UpstreamSaw(s, "resources/read"));
    }

    [Theory]
    [InlineData("test://static-text ")]
    [InlineData("test://static-text\u00A0")]
    [InlineData("static-text")]
    public async Task ResourceUris_ThatCannotBeNormalized_AreRefused(string uri)
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (_, body) = await PostAsync(s, session, """{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":""" + JsonSerializer.Serialize(uri) + "}}");

        Assert.Equal("GH1313", GatewayHarness.ErrorCode(body));
        Assert.Equal(7, body.GetProperty("id").GetInt32());
        Assert.False(UpstreamSaw(s, "resources/read"));
    }

    [Fact]
    public async Task AllowedResource_InNormalForm_IsStillRead()
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (_, body) = await PostAsync(s, session, """{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"test://static-binary"}}""");

        Assert.True(body.TryGetProperty("result", out _), body.GetRawText());
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_image_content","name":"test_simple_text"}}""", "GH1310", "'name'")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_simple_text","name":"test_image_content"}}""", "GH1310", "'name'")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_image_content","arguments":{"a":1,"a":2}}}""", "GH1310", "'a'")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_image_content","Name":"test_simple_text"}}""", "GH1311", "'Name'")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_image_content"},"Params":{"name":"test_simple_text"}}""", "GH1311", "'Params'")]
    public async Task AmbiguousRequests_AreRefusedBeforePolicy_NamingTheKey(string json, string code, string key)
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (status, body) = await PostAsync(s, session, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(code, GatewayHarness.ErrorCode(body));
        Assert.Equal(-32600, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains(key, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(UpstreamSaw(s, "tools/call"));
    }

    [Fact]
    public async Task EscapedName_OfADeniedTool_IsDenied()
    {
        var (s, session) = await StartAsync(DenyStaticText);
        await using var scenario = s;

        var (_, body) = await PostAsync(s, session, """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test\u005fsimple\u005ftext"}}""");

        Assert.Equal("GH1601", GatewayHarness.ErrorCode(body));
        Assert.False(UpstreamSaw(s, "tools/call"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","Params":{"name":"test_image_content"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":["test_image_content"]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"name":"test://static-binary"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"prompts/get","params":{"name":{"x":1}}}""")]
    public async Task Calls_WithoutAReadableTarget_AreRefused_EvenUnderDefaultDeny(string json)
    {
        var (s, session) = await StartAsync("""
            version: 1
            default: deny
            """);
        await using var scenario = s;

        var (status, body) = await PostAsync(s, session, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(GatewayHarness.ErrorCode(body) is "GH1311" or "GH1312", body.GetRawText());
        Assert.False(UpstreamSaw(s, "tools/call") || UpstreamSaw(s, "resources/read") || UpstreamSaw(s, "prompts/get"));
    }
}
