using System.Text;
using System.Text.Json;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>Each input that once answered an empty 500 (issue 10, item 8) gets a clear 4xx with a stable code.</summary>
public sealed class BadInputTests(BadInputWorld world) : IClassFixture<BadInputWorld>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private const string ToolsCallPrefix = """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":""";

    private async Task<RawResponse> SendAsync(string method, string target, IEnumerable<(string, string)> headers, byte[]? body = null, bool chunked = false)
    {
        var response = await RawHttp.SendAsync(world.Gateway.BaseUri, RawHttp.Build(method, target, headers, body, chunked), Timeout);
        Assert.False(response.TimedOut, $"{method} {target} did not answer within {Timeout}");
        return response;
    }

    private (string, string)[] McpHeaders(params (string, string)[] more) =>
    [
        ("Authorization", "Bearer " + world.Token), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"), .. more,
    ];

    private static void AssertClear(RawResponse response, int status)
    {
        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {response.Body}");
        Assert.False(string.IsNullOrWhiteSpace(response.Body), "the answer has no body");
        Assert.DoesNotContain("   at ", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", response.Body, StringComparison.Ordinal);
    }

    private static string GatehouseCode(RawResponse response) =>
        JsonDocument.Parse(response.Body).RootElement.GetProperty("error").GetProperty("data").GetProperty("gatehouseError").GetString()!;

    [Theory]
    [InlineData("/mcp/a%0db")]
    [InlineData("/mcp/%C3%A9")]
    [InlineData("/mcp/a%22b")]
    [InlineData("/mcp/a%0d%0aSet-Cookie:%20x=1")]
    public async Task A_server_name_that_is_not_a_slug_is_an_unknown_server(string path)
    {
        var response = await SendAsync("POST", path, [("Content-Type", "application/json")], Encoding.UTF8.GetBytes(ToolsCallPrefix + "\"x\"}}"));
        AssertClear(response, 404);
        Assert.Equal("GH1101", GatehouseCode(response));
        Assert.DoesNotContain(response.Headers, h => h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0xC3 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    public async Task Invalid_utf8_in_a_json_string_is_refused_as_a_parse_error(byte[] bad)
    {
        byte[] body = [.. Encoding.UTF8.GetBytes(ToolsCallPrefix + "\""), .. bad, .. Encoding.UTF8.GetBytes("\"}}")];
        var response = await SendAsync("POST", "/mcp/echo", McpHeaders(("MCP-Protocol-Version", "2025-11-25")), body);
        AssertClear(response, 400);
        Assert.Equal("GH1330", GatehouseCode(response));
    }

    [Theory]
    [InlineData("echo", "2025-11-25", """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"\uD800"}}""")]
    [InlineData("echo", "2025-11-25", """{"jsonrpc":"2.0","id":7,"method":"tools/\uDC00call","params":{"name":"x"}}""")]
    [InlineData("stateless", "2026-07-28", """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"\uD800x"}}""")]
    public async Task A_lone_surrogate_in_a_json_string_is_refused(string server, string version, string json)
    {
        // The JSON text carries the escape itself (\uD800), which is valid JSON syntax but no Unicode string.
        var headers = McpHeaders(("MCP-Protocol-Version", version), ("Mcp-Method", "tools/call"), ("Mcp-Name", "x"));
        var response = await SendAsync("POST", "/mcp/" + server, headers, Encoding.UTF8.GetBytes(json.Replace(@"\\", @"\", StringComparison.Ordinal)));
        AssertClear(response, 400);
        Assert.Equal("GH1330", GatehouseCode(response));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task An_empty_session_id_is_a_missing_session(string method)
    {
        var response = await SendAsync(method, "/mcp/echo", McpHeaders(("Mcp-Session-Id", ""), ("MCP-Protocol-Version", "2025-11-25")));
        AssertClear(response, 400);
        Assert.Equal("GH1401", GatehouseCode(response));
    }

    [Theory]
    [InlineData("/oauth2/token")]
    [InlineData("/oauth2/authorize")]
    public async Task Too_many_form_fields_are_an_invalid_request(string path)
    {
        var form = string.Join('&', Enumerable.Range(0, 1100).Select(i => $"f{i}=v"));
        var response = await SendAsync("POST", path, [("Content-Type", "application/x-www-form-urlencoded")], Encoding.ASCII.GetBytes(form));
        AssertClear(response, 400);
        Assert.Contains("invalid_request", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nonce=%00")]
    [InlineData("state=a%01b")]
    [InlineData("client_id=%00")]
    public async Task A_control_character_in_an_authorization_parameter_is_an_invalid_request(string parameter)
    {
        var query = $"response_type=code&client_id={await world.ClientIdAsync()}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&resource={Uri.EscapeDataString(world.Gateway.McpUri("echo").ToString())}&code_challenge=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq&code_challenge_method=S256&" + parameter;
        var response = await SendAsync("GET", "/oauth2/authorize?" + query, []);
        AssertClear(response, 400);
        Assert.Contains("invalid_request", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"issuer":null,"clientId":"x","clientSecret":"y"}""")]
    [InlineData("""{"issuer":5}""")]
    [InlineData("[]")]
    [InlineData("{")]
    public async Task An_incomplete_login_provider_is_refused_with_what_is_missing(string json)
    {
        var response = await SendAsync("PUT", "/admin/api/login-provider",
            [("Authorization", "Bearer " + world.AdminToken), ("Content-Type", "application/json")], Encoding.UTF8.GetBytes(json));
        AssertClear(response, 400);
    }

    [Fact]
    public async Task An_overflowing_chunk_size_is_a_bad_request()
    {
        var body = Encoding.ASCII.GetBytes("FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n");
        var response = await SendAsync("POST", "/mcp/echo", McpHeaders(("Transfer-Encoding", "chunked"), ("MCP-Protocol-Version", "2025-11-25")), body, chunked: true);
        Assert.True(response.Status is >= 400 and < 500, $"{response.Status}: {response.Body}");
    }

    [Fact]
    public async Task A_client_header_with_a_non_ascii_value_is_refused_naming_the_header()
    {
        var initialize = Encoding.UTF8.GetBytes(Infrastructure.GatewayHarness.InitializeBody);
        // User-Agent is on the allow-list of headers that go upstream; a header that is not is simply not sent.
        var response = await SendAsync("POST", "/mcp/echo", McpHeaders(("User-Agent", "caf\u00c3\u00a9")), initialize);
        AssertClear(response, 400);
        Assert.Contains("User-Agent", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "/admin/api/policies/big", "application/yaml")]
    [InlineData("POST", "/admin/api/apply", "application/yaml")]
    [InlineData("POST", "/admin/api/servers", "application/json")]
    public async Task An_admin_body_over_one_mebibyte_is_refused_with_413(string method, string path, string contentType)
    {
        var body = Encoding.ASCII.GetBytes("# " + new string('x', (int)Gatehouse.Admin.Api.AdminBodyLimit.Bytes + 10));
        var response = await SendAsync(method, path, [("Authorization", "Bearer " + world.AdminToken), ("Content-Type", contentType)], body);
        AssertClear(response, 413);
        Assert.Contains("GH1332", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_nested_twenty_thousand_levels_deep_is_refused_and_the_gateway_lives()
    {
        var deep = new string('[', 20_000) + new string(']', 20_000);
        foreach (var document in new[] { "{\"version\":1,\"default\":\"allow\",\"tools\":" + deep + "}", deep })
        {
            var response = await SendAsync("PUT", "/admin/api/policies/deep",
                [("Authorization", "Bearer " + world.AdminToken), ("Content-Type", "application/json")], Encoding.UTF8.GetBytes(document));
            AssertClear(response, 400);
            Assert.Contains("deep", response.Body, StringComparison.OrdinalIgnoreCase);
        }

        var yaml = string.Concat(Enumerable.Repeat("- ", 20_000)) + "x";
        var yamlResponse = await SendAsync("PUT", "/admin/api/policies/deep",
            [("Authorization", "Bearer " + world.AdminToken), ("Content-Type", "application/yaml")], Encoding.UTF8.GetBytes(yaml));
        AssertClear(yamlResponse, 400);

        var alive = await SendAsync("GET", "/healthz", []);
        Assert.Equal(200, alive.Status);
    }
}
