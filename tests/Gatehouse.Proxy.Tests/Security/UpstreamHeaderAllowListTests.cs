using System.Net.Http.Headers;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Security;

/// <summary>
/// Client headers go upstream by allow-list: what MCP needs, content type, accept and user agent. Identity headers
/// (<c>Forwarded</c>, <c>X-Forwarded-*</c>, <c>X-Real-IP</c>, …) only for a server configured to receive them;
/// anything else a client makes up never arrives. Checked against the real upstream's own request log.
/// </summary>
public sealed class UpstreamHeaderAllowListTests
{
    private static readonly Dictionary<string, string> IdentityHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Forwarded"] = "for=203.0.113.7;proto=https",
        ["X-Forwarded-For"] = "203.0.113.7",
        ["X-Forwarded-Host"] = "gatehouse.example.com",
        ["X-Forwarded-Proto"] = "https",
        ["X-Real-IP"] = "203.0.113.7",
        ["True-Client-IP"] = "203.0.113.7",
    };

    private static readonly Dictionary<string, string> MadeUpHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["X-Internal-Admin"] = "yes",
        ["X-Api-Key"] = "client-chosen-key",
        ["X-Original-URL"] = "/admin",
        ["Accept-Language"] = "fr",
        ["Cache-Control"] = "no-cache",
        ["Via"] = "1.1 attacker",
    };

    [Fact]
    public async Task Only_allow_listed_headers_reach_the_upstream_and_identity_headers_are_dropped_by_default()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        var arrived = await InitializeAsync(s);

        Assert.Equal("application/json; charset=utf-8", arrived.GetHeader("Content-Type"));
        Assert.Contains("text/event-stream", arrived.GetHeader("Accept"), StringComparison.Ordinal);
        Assert.Equal("gatehouse-test-client/1.0", arrived.GetHeader("User-Agent"));
        Assert.Equal("2025-11-25", arrived.GetHeader("MCP-Protocol-Version"));
        foreach (var name in IdentityHeaders.Keys.Concat(MadeUpHeaders.Keys))
        {
            Assert.False(arrived.HasHeader(name), $"{name} reached the upstream");
        }
    }

    [Fact]
    public async Task Identity_headers_reach_a_server_configured_for_them_and_made_up_headers_still_do_not()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        var (code, _, error) = await gateway.CliAsync("server", "add", "echo", "--url", upstream.McpUri.ToString(), "--transport", "streamable-http", "--forward-identity-headers");
        Assert.True(code == 0, error);
        var token = await gateway.CreateGrantAsync("laptop", "echo");

        var (_, shown, _) = await gateway.CliAsync("server", "show", "echo");
        Assert.Contains("identity headers: forwarded", shown, StringComparison.Ordinal);

        var arrived = await InitializeAsync(gateway, upstream, "echo", token);

        foreach (var (name, value) in IdentityHeaders)
        {
            Assert.Equal(value, arrived.GetHeader(name));
        }

        foreach (var name in MadeUpHeaders.Keys)
        {
            Assert.False(arrived.HasHeader(name), $"{name} reached the upstream");
        }
    }

    [Fact]
    public async Task A_legacy_sse_client_stream_carries_only_allow_listed_headers_upstream()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(s.Gateway.McpUri(s.Server) + "/sse"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.Token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        AddClientHeaders(request);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await s.Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bound.Token);
        Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());

        var arrived = await s.Upstream.WaitForRequestAsync(r => r.Method == "GET", bound.Token);
        Assert.Equal("gatehouse-test-client/1.0", arrived.GetHeader("User-Agent"));
        foreach (var name in IdentityHeaders.Keys.Concat(MadeUpHeaders.Keys))
        {
            Assert.False(arrived.HasHeader(name), $"{name} reached the upstream");
        }
    }

    private static Task<RecordedRequest> InitializeAsync(ProxyScenario s) => InitializeAsync(s.Gateway, s.Upstream, s.Server, s.Token);

    private static async Task<RecordedRequest> InitializeAsync(GatewayHarness gateway, TestUpstream upstream, string server, string token)
    {
        using var response = await gateway.PostAsync(server, token, GatewayHarness.InitializeBody, r =>
        {
            r.Headers.TryAddWithoutValidation("MCP-Protocol-Version", "2025-11-25");
            AddClientHeaders(r);
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return Assert.Single(upstream.Requests, r => r.Method == "POST" && r.Body?.Contains("\"initialize\"", StringComparison.Ordinal) == true);
    }

    private static void AddClientHeaders(HttpRequestMessage request)
    {
        request.Headers.UserAgent.ParseAdd("gatehouse-test-client/1.0");
        foreach (var (name, value) in IdentityHeaders.Concat(MadeUpHeaders))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
