using System.Text.Json;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Protocol;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class AuthorizationDiscoveryTests : IDisposable
{
    private readonly GuardedHttpClient _http = new(TimeSpan.FromSeconds(5));
    private readonly AuthorizationDiscovery _discovery;

    public AuthorizationDiscoveryTests() => _discovery = new AuthorizationDiscovery(_http);

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Discover_IssuerWithPath_TriesTheThreeLocationsInOrderAndNeverTheRoot()
    {
        await using var authServer = await LoopbackServer.StartAsync((app, s) =>
            app.MapGet("/t/.well-known/openid-configuration", (HttpContext c) => LoopbackServer.Json(c, AsDocument(s.Origin + "/t", s.Origin))));
        await using var mcp = await McpServerAsync(challenge: "Bearer", prm: ("/.well-known/oauth-protected-resource/mcp", "/mcp", () => authServer.Origin + "/t"));

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(
            ["/.well-known/oauth-authorization-server/t", "/.well-known/openid-configuration/t", "/t/.well-known/openid-configuration"],
            authServer.Paths);
        Assert.Equal(authServer.Origin + "/t", result.Issuer);
        Assert.Equal(authServer.Url("/t/.well-known/openid-configuration"), result.AuthorizationServerMetadataUrl);
        Assert.Equal(new Uri(authServer.Origin + "/token"), result.AuthorizationServer.TokenEndpoint);
        Assert.False(result.IsLegacyFallback);
        Assert.True(result.SupportsPkceS256);
    }

    [Fact]
    public async Task Discover_IssuerWithoutPath_TriesOAuthThenOpenIdConfiguration()
    {
        await using var authServer = await LoopbackServer.StartAsync((app, s) =>
            app.MapGet("/.well-known/openid-configuration", (HttpContext c) => LoopbackServer.Json(c, AsDocument(s.Origin, s.Origin))));
        await using var mcp = await McpServerAsync(challenge: "Bearer", prm: ("/.well-known/oauth-protected-resource/mcp", "/mcp", () => authServer.Origin));

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"], authServer.Paths);
        Assert.Equal(authServer.Origin, result.Issuer);
    }

    [Fact]
    public async Task Discover_ProbeIsAnUnauthenticatedInitialize()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await McpServerAsync(challenge: "Bearer", prm: ("/.well-known/oauth-protected-resource/mcp", "/mcp", () => authServer.Origin));

        await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        var probe = mcp.Requests[0];
        Assert.Equal("POST", probe.Method);
        Assert.Equal("/mcp", probe.Path);
        Assert.Null(probe.Header("Authorization"));
        Assert.Equal("application/json, text/event-stream", probe.Header("Accept"));
        Assert.Equal("application/json", probe.Header("Content-Type"));
        using var body = JsonDocument.Parse(probe.Body);
        Assert.Equal("initialize", body.RootElement.GetProperty("method").GetString());
        Assert.Equal("2025-11-25", body.RootElement.GetProperty("params").GetProperty("protocolVersion").GetString());
        Assert.Equal("gatehouse", body.RootElement.GetProperty("params").GetProperty("clientInfo").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Discover_PathInsertedResourceMetadata_IsPreferredOverTheRoot()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", Unauthorized("Bearer"));
            app.MapGet("/.well-known/oauth-protected-resource/mcp", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin + "/mcp", authServer.Origin, ["path"])));
            app.MapGet("/.well-known/oauth-protected-resource", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin, "https://wrong.example", ["root"])));
        });

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(["POST /mcp", "GET /.well-known/oauth-protected-resource/mcp"], mcp.Requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.Equal(mcp.Url("/.well-known/oauth-protected-resource/mcp"), result.ResourceMetadataUrl);
        Assert.Equal(mcp.Origin + "/mcp", result.Resource);
        Assert.Equal("path", result.SelectScopes(wantsRefreshToken: false));
    }

    [Fact]
    public async Task Discover_RootResourceMetadata_IsUsedWhenThePathInsertedOneIsMissing()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", Unauthorized("Bearer"));
            app.MapGet("/.well-known/oauth-protected-resource", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin, authServer.Origin)));
        });

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(["/mcp", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"], mcp.Paths);
        Assert.Equal(mcp.Origin, result.Resource);
    }

    [Fact]
    public async Task Discover_ChallengeResourceMetadata_IsPreferred()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", (HttpContext c) =>
            {
                c.Response.StatusCode = 401;
                c.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{s.Origin}/custom/metadata.json\", scope=\"mcp:basic\"";
                return Task.CompletedTask;
            });
            app.MapGet("/custom/metadata.json", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin + "/mcp", authServer.Origin)));
            app.MapGet("/.well-known/oauth-protected-resource/mcp", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin + "/mcp", "https://wrong.example")));
        });

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(["/mcp", "/custom/metadata.json"], mcp.Paths);
        Assert.Equal(mcp.Url("/custom/metadata.json"), result.ResourceMetadataUrl);
        Assert.Equal("mcp:basic", result.Challenge?.Scope);
        Assert.Equal("mcp:basic", result.SelectScopes(wantsRefreshToken: false));
    }

    [Fact]
    public async Task Discover_GivenChallenge_SkipsTheProbe()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await McpServerAsync(challenge: null, prm: ("/prm.json", "/mcp", () => authServer.Origin));
        var challenge = WwwAuthenticateChallenge.Parse($"Bearer resource_metadata=\"{mcp.Origin}/prm.json\", error=\"insufficient_scope\", scope=\"more\"");

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default, challenge);

        Assert.Equal(["/prm.json"], mcp.Paths);
        Assert.Same(challenge, result.Challenge);
    }

    [Fact]
    public async Task Discover_IssuerMismatch_IsRefused()
    {
        await using var authServer = await LoopbackServer.StartAsync((app, s) =>
            app.MapGet("/.well-known/oauth-authorization-server", (HttpContext c) => LoopbackServer.Json(c, AsDocument("https://attacker.example", s.Origin))));
        await using var mcp = await McpServerAsync(challenge: "Bearer", prm: ("/.well-known/oauth-protected-resource/mcp", "/mcp", () => authServer.Origin));

        var ex = await Assert.ThrowsAsync<DiscoveryException>(() => _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("names issuer 'https://attacker.example', not '" + authServer.Origin + "'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["/.well-known/oauth-authorization-server"], authServer.Paths);
    }

    [Fact]
    public async Task Discover_ResourceMismatch_IsRefusedBeforeAnyAuthorizationServerRequest()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await LoopbackServer.StartAsync((app, _) =>
        {
            app.MapPost("/mcp", Unauthorized("Bearer"));
            app.MapGet("/.well-known/oauth-protected-resource/mcp", (HttpContext c) => LoopbackServer.Json(c, PrmDocument("https://evil.example.com/mcp", authServer.Origin)));
        });

        var ex = await Assert.ThrowsAsync<DiscoveryException>(() => _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains($"names resource https://evil.example.com/mcp, which does not cover {mcp.Origin}/mcp; refusing to authorize", ex.Message, StringComparison.Ordinal);
        Assert.Empty(authServer.Requests);
    }

    [Fact]
    public async Task Discover_LegacyServerWithRootMetadata_UsesIt()
    {
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", Unauthorized("Bearer"));
            app.MapGet("/.well-known/oauth-authorization-server", (HttpContext c) => LoopbackServer.Json(c, AsDocument(s.Origin + "/oauth", s.Origin + "/oauth")));
        });

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.True(result.IsLegacyFallback);
        Assert.False(result.IsSynthesizedMetadata);
        Assert.Null(result.ResourceMetadata);
        Assert.Equal(mcp.Origin + "/oauth", result.Issuer);
        Assert.Equal(new Uri(mcp.Origin + "/oauth/token"), result.AuthorizationServer.TokenEndpoint);
        Assert.Equal(mcp.Origin + "/mcp", result.Resource);
        Assert.Equal(
            ["/mcp", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server"],
            mcp.Paths);
    }

    [Fact]
    public async Task Discover_LegacyServerWithoutMetadata_UsesTheDefaultEndpoints()
    {
        await using var mcp = await LoopbackServer.StartAsync((app, _) => app.MapPost("/mcp", Unauthorized("Bearer")));

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.True(result.IsLegacyFallback);
        Assert.True(result.IsSynthesizedMetadata);
        Assert.True(result.SupportsPkceS256);
        Assert.Equal(mcp.Origin, result.Issuer);
        Assert.Equal(new Uri(mcp.Origin + "/authorize"), result.AuthorizationServer.AuthorizationEndpoint);
        Assert.Equal(new Uri(mcp.Origin + "/token"), result.AuthorizationServer.TokenEndpoint);
        Assert.Equal(new Uri(mcp.Origin + "/register"), result.AuthorizationServer.RegistrationEndpoint);
        Assert.Equal(mcp.Origin + "/mcp", result.Resource);
        Assert.Contains("/.well-known/openid-configuration", mcp.Paths);
    }

    [Fact]
    public async Task Discover_AnnouncedMetadataMissing_FailsInsteadOfFallingBackToLegacy()
    {
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
            app.MapPost("/mcp", (HttpContext c) =>
            {
                c.Response.StatusCode = 401;
                c.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{s.Origin}/gone\"";
                return Task.CompletedTask;
            }));

        var ex = await Assert.ThrowsAsync<DiscoveryException>(() => _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains($"{mcp.Origin}/gone: HTTP 404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discover_HtmlAnswerForWellKnown_IsTreatedAsAbsent()
    {
        await using var authServer = await AuthServerAsync();
        await using var mcp = await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", Unauthorized("Bearer"));
            app.MapGet("/.well-known/oauth-protected-resource/mcp", () => Results.Content("<html>app shell</html>", "text/html"));
            app.MapGet("/.well-known/oauth-protected-resource", (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin, authServer.Origin)));
        });

        var result = await _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(mcp.Url("/.well-known/oauth-protected-resource"), result.ResourceMetadataUrl);
    }

    [Fact]
    public async Task Discover_McpUrlIsNotGuardedButMetadataIs()
    {
        await using var mcp = await McpServerAsync(challenge: "Bearer", prm: ("/.well-known/oauth-protected-resource/mcp", "/mcp", () => "https://as.example"));

        var ex = await Assert.ThrowsAsync<OutboundUrlRefusedException>(() => _discovery.DiscoverAsync(mcp.Url("/mcp"), OutboundUrlPolicy.PublicOnly, default));

        Assert.Equal(OutboundUrlRefusal.Loopback, ex.Reason);
        Assert.Equal(["/mcp"], mcp.Paths);
    }

    [Fact]
    public async Task Discover_UnreachableMcpServer_FailsWithDiscoveryException()
    {
        var ex = await Assert.ThrowsAsync<DiscoveryException>(() =>
            _discovery.DiscoverAsync(new Uri($"http://127.0.0.1:{TestPorts.Closed()}/mcp"), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("could not be reached", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://mcp.example.com", "https://mcp.example.com/mcp", true)]
    [InlineData("https://mcp.example.com/", "https://mcp.example.com/mcp", true)]
    [InlineData("https://MCP.example.com/mcp", "https://mcp.example.com/mcp", true)]
    [InlineData("https://mcp.example.com/mcp/", "https://mcp.example.com/mcp", true)]
    [InlineData("https://mcp.example.com/mcp", "https://mcp.example.com/mcp/", true)]
    [InlineData("https://mcp.example.com/mcp", "https://mcp.example.com/mcp/tenant", true)]
    [InlineData("https://mcp.example.com:443/mcp", "https://mcp.example.com/mcp", true)]
    [InlineData("https://mcp.example.com/mc", "https://mcp.example.com/mcp", false)]
    [InlineData("https://mcp.example.com/mcp/tenant", "https://mcp.example.com/mcp", false)]
    [InlineData("https://mcp.example.com/MCP", "https://mcp.example.com/mcp", false)]
    [InlineData("http://mcp.example.com/mcp", "https://mcp.example.com/mcp", false)]
    [InlineData("https://mcp.example.com:8443/mcp", "https://mcp.example.com/mcp", false)]
    [InlineData("https://evil.example.com/mcp", "https://mcp.example.com/mcp", false)]
    public void Covers_SameOriginAndPathPrefixOnASegmentBoundary(string resource, string mcp, bool covers) =>
        Assert.Equal(covers, AuthorizationDiscovery.Covers(new Uri(resource), new Uri(mcp)));

    [Theory]
    [InlineData("HTTPS://MCP.Example.COM/Mcp", "https://mcp.example.com/Mcp")]
    [InlineData("https://mcp.example.com", "https://mcp.example.com")]
    [InlineData("https://mcp.example.com/", "https://mcp.example.com/")]
    [InlineData("https://mcp.example.com:443/mcp/#fragment", "https://mcp.example.com/mcp/")]
    [InlineData("http://127.0.0.1:8080/mcp?tenant=a", "http://127.0.0.1:8080/mcp?tenant=a")]
    public void CanonicalResource_LowercasesSchemeAndHostAndDropsTheFragment(string url, string canonical) =>
        Assert.Equal(canonical, AuthorizationDiscovery.CanonicalResource(new Uri(url)));

    private static async Task<LoopbackServer> AuthServerAsync() => await LoopbackServer.StartAsync((app, s) =>
        app.MapGet("/.well-known/oauth-authorization-server", (HttpContext c) => LoopbackServer.Json(c, AsDocument(s.Origin, s.Origin))));

    /// <summary>An MCP server answering the probe with 401 (and <paramref name="challenge"/>) and serving one PRM document.</summary>
    private static async Task<LoopbackServer> McpServerAsync(string? challenge, (string Path, string ResourcePath, Func<string> Issuer) prm) =>
        await LoopbackServer.StartAsync((app, s) =>
        {
            app.MapPost("/mcp", Unauthorized(challenge));
            app.MapGet(prm.Path, (HttpContext c) => LoopbackServer.Json(c, PrmDocument(s.Origin + prm.ResourcePath, prm.Issuer())));
        });

    private static RequestDelegate Unauthorized(string? challenge) => c =>
    {
        c.Response.StatusCode = 401;
        if (challenge is not null)
        {
            c.Response.Headers.WWWAuthenticate = challenge;
        }

        return Task.CompletedTask;
    };

    internal static string PrmDocument(string resource, string issuer, string[]? scopes = null) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["resource"] = resource,
        ["authorization_servers"] = new[] { issuer },
        ["scopes_supported"] = scopes,
        ["bearer_methods_supported"] = new[] { "header" },
    });

    internal static string AsDocument(string issuer, string endpointBase) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["issuer"] = issuer,
        ["authorization_endpoint"] = endpointBase + "/authorize",
        ["token_endpoint"] = endpointBase + "/token",
        ["registration_endpoint"] = endpointBase + "/register",
        ["response_types_supported"] = new[] { "code" },
        ["code_challenge_methods_supported"] = new[] { "S256" },
        ["some_future_member"] = new { nested = true },
    });
}
