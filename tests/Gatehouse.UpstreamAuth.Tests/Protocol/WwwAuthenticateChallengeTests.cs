using Gatehouse.UpstreamAuth.Protocol;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class WwwAuthenticateChallengeTests
{
    [Fact]
    public void Parse_McpChallenge_ReadsResourceMetadataAndScope()
    {
        var challenge = WwwAuthenticateChallenge.Parse(
            """Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="files:read files:write" """);

        Assert.NotNull(challenge);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Equal(new Uri("https://mcp.example.com/.well-known/oauth-protected-resource/mcp"), challenge.ResourceMetadata);
        Assert.Equal("files:read files:write", challenge.Scope);
        Assert.Equal("invalid_token", challenge.Error);
        Assert.Equal("Missing Authorization header", challenge.ErrorDescription);
    }

    [Fact]
    public void Parse_SeveralChallenges_PicksBearer()
    {
        var challenge = WwwAuthenticateChallenge.Parse("""Basic realm="legacy, with comma", Bearer realm="mcp", error="insufficient_scope", scope="admin", DPoP algs="ES256" """);

        Assert.NotNull(challenge);
        Assert.Equal("insufficient_scope", challenge.Error);
        Assert.Equal("admin", challenge.Scope);
        Assert.Equal("mcp", challenge.Parameters["realm"]);
        Assert.False(challenge.Parameters.ContainsKey("algs"));
    }

    [Fact]
    public void Parse_Token68BeforeBearer_IsSkipped()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Negotiate YIIBhAYGKwYBBQUCoIIBeDCCAXSgMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==, Bearer scope=read");

        Assert.Equal("read", challenge?.Scope);
    }

    [Fact]
    public void Parse_NamesAndSchemeAreCaseInsensitive()
    {
        var challenge = WwwAuthenticateChallenge.Parse("""bEaReR Resource_Metadata="https://x.example/prm", SCOPE="a" """);

        Assert.Equal(new Uri("https://x.example/prm"), challenge?.ResourceMetadata);
        Assert.Equal("a", challenge?.Scope);
        Assert.Equal("a", challenge?.Parameters["scope"]);
    }

    [Fact]
    public void Parse_QuotedStrings_ResolveEscapesAndKeepCommas()
    {
        var challenge = WwwAuthenticateChallenge.Parse("""Bearer error_description="say \"hi\", then \\ leave", error=invalid_request""");

        Assert.Equal("""say "hi", then \ leave""", challenge?.ErrorDescription);
        Assert.Equal("invalid_request", challenge?.Error);
    }

    [Fact]
    public void Parse_UnquotedTokensAndOptionalWhitespace_AreAccepted()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer   scope = read ,error=insufficient_scope,  resource_metadata=\"https://a.example/m\"");

        Assert.Equal("read", challenge?.Scope);
        Assert.Equal("insufficient_scope", challenge?.Error);
        Assert.Equal(new Uri("https://a.example/m"), challenge?.ResourceMetadata);
    }

    [Fact]
    public void Parse_BareBearer_HasNoParameters()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer");

        Assert.NotNull(challenge);
        Assert.Null(challenge.Scope);
        Assert.Null(challenge.ResourceMetadata);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Basic realm=\"x\"")]
    [InlineData("\"Bearer\"")]
    public void Parse_NoBearerChallenge_IsNull(string value) => Assert.Null(WwwAuthenticateChallenge.Parse(value));

    [Theory]
    [InlineData("Bearer resource_metadata=\"/relative/path\"")]
    [InlineData("Bearer resource_metadata=\"javascript:alert(1)\"")]
    public void Parse_UnusableResourceMetadata_IsIgnored(string value)
    {
        var challenge = WwwAuthenticateChallenge.Parse(value);

        Assert.NotNull(challenge);
        Assert.Null(challenge.ResourceMetadata);
    }

    [Fact]
    public void Parse_UnterminatedQuote_RunsToTheEnd()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer scope=\"a b");

        Assert.Equal("a b", challenge?.Scope);
    }

    [Fact]
    public void FromResponse_ReadsBearerFromAnyHeaderLine()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);
        response.Headers.TryAddWithoutValidation("WWW-Authenticate", "Basic realm=\"x\"");
        response.Headers.TryAddWithoutValidation("WWW-Authenticate", "Bearer scope=\"mcp:basic\", resource_metadata=\"https://s.example/prm\"");

        var challenge = WwwAuthenticateChallenge.FromResponse(response);

        Assert.Equal("mcp:basic", challenge?.Scope);
        Assert.Equal(new Uri("https://s.example/prm"), challenge?.ResourceMetadata);
    }

    [Fact]
    public void FromResponse_WithoutHeader_IsNull()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized);

        Assert.Null(WwwAuthenticateChallenge.FromResponse(response));
    }
}
