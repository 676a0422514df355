using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Security;

public sealed class CredentialTests
{
    private const string Ping = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

    [Theory]
    [InlineData(null, "GH1001")]
    [InlineData("Basic dXNlcjpwYXNz", "GH1002")]
    [InlineData("Bearer gth_not-a-real-token", "GH1002")]
    public async Task MissingOrMalformedCredential_Gets401WithResourceMetadataChallenge(string? authorization, string code)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var response = await s.Gateway.PostAsync("echo", null, Ping, r =>
        {
            if (authorization is not null)
            {
                r.Headers.TryAddWithoutValidation("Authorization", authorization);
            }
        });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith($"Bearer resource_metadata=\"{s.Gateway.BaseUri}.well-known/oauth-protected-resource/mcp/echo\"", challenge, StringComparison.Ordinal);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal(code, GatewayHarness.ErrorCode(body));
        Assert.Empty(s.Upstream.Requests);
    }

    [Fact]
    public async Task ProtectedResourceMetadata_NamesTheServerUrlExactly()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        var document = System.Text.Json.JsonDocument.Parse(await s.Gateway.Http.GetStringAsync(".well-known/oauth-protected-resource/mcp/echo")).RootElement;
        Assert.Equal(s.Gateway.McpUri("echo").ToString(), document.GetProperty("resource").GetString());
        using var unknown = await s.Gateway.Http.GetAsync(".well-known/oauth-protected-resource/mcp/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task GrantForServerA_IsRejectedOnServerB()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "a");
        await s.Gateway.AddServerAsync("b", s.Upstream.McpUri);
        var tokenForA = s.Token; // the scenario's grant names only "a"

        using var onB = await s.Gateway.PostAsync("b", tokenForA, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, onB.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(onB);
        Assert.Equal("GH1006", GatewayHarness.ErrorCode(body));

        using var onA = await s.Gateway.PostAsync("a", tokenForA, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
    }

    [Fact]
    public async Task RevokeAndRotate_ThroughTheCli_AreInForceOnTheNextRequest()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        using (var ok = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var (code, output, _) = await s.Gateway.CliAsync("--json", "grant", "rotate", "laptop");
        Assert.Equal(0, code);
        var second = System.Text.Json.Nodes.JsonNode.Parse(output)!["token"]!.GetValue<string>();

        using (var old = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using (var rotated = await s.Gateway.PostAsync("echo", second, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        }

        Assert.Equal(0, (await s.Gateway.CliAsync("grant", "revoke", "laptop")).ExitCode);
        using var revoked = await s.Gateway.PostAsync("echo", second, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(revoked);
        Assert.Equal("GH1005", GatewayHarness.ErrorCode(body));
        Assert.Contains("'laptop' was revoked at", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantUse_IsRecordedAsLastUsed_AndFlushedOnGracefulShutdown()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.CreateGrantAsync("unused", "echo");
        using (var ok = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await s.Gateway.StopAsync();
        var (_, output, _) = await s.Gateway.CliAsync("--json", "grant", "list");
        var grants = System.Text.Json.Nodes.JsonNode.Parse(output)!.AsArray();
        Assert.NotNull(grants.Single(g => g!["label"]!.GetValue<string>() == "laptop")!["lastUsedAt"]);
        Assert.Null(grants.Single(g => g!["label"]!.GetValue<string>() == "unused")!["lastUsedAt"]);
    }

    [Fact]
    public async Task ServerRemovedThroughTheCli_IsRefusedOnTheNextRequest()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "first");
        using (var before = await s.Gateway.PostAsync("first", s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Assert.Equal(0, (await s.Gateway.CliAsync("server", "remove", "first")).ExitCode);
        using var after = await s.Gateway.PostAsync("first", s.Token, GatewayHarness.InitializeBody);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Theory]
    [InlineData("evil.example", null)]
    [InlineData(null, "http://evil.example")]
    public async Task ForeignHostOrOrigin_Gets403_DnsRebindingProtection(string? host, string? origin)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var response = await s.Gateway.PostAsync("echo", s.Token, GatewayHarness.InitializeBody, r =>
        {
            if (host is not null)
            {
                r.Headers.Host = host;
            }

            if (origin is not null)
            {
                r.Headers.Add("Origin", origin);
            }
        });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(s.Upstream.Requests);
    }

    [Fact]
    public async Task AllowedBrowserOrigin_GetsCorsHeadersExposingSessionAndChallenge()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, s.Gateway.McpUri("echo"));
        preflight.Headers.Add("Origin", "http://localhost:6274");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version");
        using var response = await s.Gateway.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("http://localhost:6274", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Mcp-Session-Id", response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
    }
}
