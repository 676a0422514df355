using Gatehouse.UpstreamAuth.Protocol;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class ScopeSelectionTests
{
    [Fact]
    public void ConfiguredScopes_WinOverEverything()
    {
        var result = Result(challengeScope: "from-challenge", prmScopes: ["from-prm"]);

        Assert.Equal("admin:one admin:two", result.SelectScopes(" admin:one  admin:two admin:one ", wantsRefreshToken: false));
    }

    [Fact]
    public void ChallengeScope_WinsOverResourceMetadata()
    {
        var result = Result(challengeScope: "mcp:basic", prmScopes: ["mcp:basic", "mcp:read", "mcp:write"]);

        Assert.Equal("mcp:basic", result.SelectScopes(wantsRefreshToken: false));
    }

    [Fact]
    public void ResourceMetadataScopes_AreAllRequestedWithoutAChallengeScope()
    {
        var result = Result(challengeScope: null, prmScopes: ["mcp:basic", "mcp:read", "mcp:write"]);

        Assert.Equal("mcp:basic mcp:read mcp:write", result.SelectScopes(wantsRefreshToken: false));
    }

    [Fact]
    public void NothingKnown_OmitsScope()
    {
        Assert.Null(Result(challengeScope: null, prmScopes: null).SelectScopes());
        Assert.Null(Result(challengeScope: null, prmScopes: []).SelectScopes());
    }

    [Fact]
    public void OfflineAccess_IsAddedWhenTheAuthorizationServerListsIt()
    {
        var result = Result(challengeScope: null, prmScopes: ["mcp:basic"], asScopes: ["mcp:basic", "offline_access"]);

        Assert.Equal("mcp:basic offline_access", result.SelectScopes());
        Assert.Equal("mcp:basic", result.SelectScopes(wantsRefreshToken: false));
    }

    [Fact]
    public void OfflineAccess_IsRequestedAloneWhenNothingElseIsKnown()
    {
        var result = Result(challengeScope: null, prmScopes: null, asScopes: ["offline_access"]);

        Assert.Equal("offline_access", result.SelectScopes());
    }

    [Fact]
    public void OfflineAccess_IsNeverAddedWhenTheAuthorizationServerDoesNotListIt()
    {
        var result = Result(challengeScope: null, prmScopes: ["mcp:basic", "mcp:read"], asScopes: ["mcp:basic", "mcp:read"]);

        Assert.Equal("mcp:basic mcp:read", result.SelectScopes());
    }

    [Fact]
    public void OfflineAccess_IsNotDuplicated()
    {
        var result = Result(challengeScope: "offline_access mcp:basic", prmScopes: null, asScopes: ["offline_access"]);

        Assert.Equal("offline_access mcp:basic", result.SelectScopes());
    }

    [Theory]
    [InlineData(new[] { "S256" }, false, true)]
    [InlineData(new[] { "plain", "S256" }, false, true)]
    [InlineData(new[] { "plain" }, false, false)]
    [InlineData(new[] { "plain" }, true, false)]
    [InlineData(null, false, false)]
    [InlineData(null, true, true)]
    public void SupportsPkceS256_NeedsS256OrA2025_03_26ServerThatListsNothing(string[]? methods, bool legacy, bool supported)
    {
        var result = Result(null, null) with
        {
            IsLegacyFallback = legacy,
            AuthorizationServer = new AuthorizationServerMetadata { Issuer = "https://as.example", CodeChallengeMethodsSupported = methods },
        };

        Assert.Equal(supported, result.SupportsPkceS256);
    }

    private static DiscoveryResult Result(string? challengeScope, string[]? prmScopes, string[]? asScopes = null) => new(
        new Uri("https://mcp.example.com/mcp"),
        "https://mcp.example.com/mcp",
        new ProtectedResourceMetadata { Resource = "https://mcp.example.com/mcp", AuthorizationServers = ["https://as.example"], ScopesSupported = prmScopes },
        new Uri("https://mcp.example.com/.well-known/oauth-protected-resource/mcp"),
        new AuthorizationServerMetadata { Issuer = "https://as.example", ScopesSupported = asScopes, CodeChallengeMethodsSupported = ["S256"] },
        "https://as.example",
        challengeScope is null ? null : new WwwAuthenticateChallenge("Bearer", null, challengeScope, null, null),
        IsLegacyFallback: false);
}
