using Gatehouse.UpstreamAuth.Protocol;
using Microsoft.AspNetCore.WebUtilities;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class AuthorizationRequestTests
{
    private static readonly Uri Redirect = new("https://gatehouse.example.com/connect/callback");

    [Fact]
    public void Build_AppendsEveryParameterToAnExistingQuery()
    {
        var server = new AuthorizationServerMetadata { Issuer = "https://as.example", AuthorizationEndpoint = new Uri("https://as.example/oauth2/authorize?tenant=a%20b&x=1") };

        var url = AuthorizationRequestBuilder.Build(server, "client id/1", Redirect, "st&te", "challenge", "https://mcp.example.com/mcp", "mcp:read offline_access");

        Assert.Equal("https", url.Scheme);
        Assert.Equal("/oauth2/authorize", url.AbsolutePath);
        var query = QueryHelpers.ParseQuery(url.Query);
        Assert.Equal("a b", query["tenant"]);
        Assert.Equal("1", query["x"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal("client id/1", query["client_id"]);
        Assert.Equal(Redirect.ToString(), query["redirect_uri"]);
        Assert.Equal("st&te", query["state"]);
        Assert.Equal("challenge", query["code_challenge"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("https://mcp.example.com/mcp", query["resource"]);
        Assert.Equal("mcp:read offline_access", query["scope"]);
    }

    [Fact]
    public void Build_OmitsScopeAndResourceWhenNull()
    {
        var server = new AuthorizationServerMetadata { Issuer = "https://as.example", AuthorizationEndpoint = new Uri("https://as.example/authorize") };

        var url = AuthorizationRequestBuilder.Build(server, "c", Redirect, "s", "ch", null, null);

        var query = QueryHelpers.ParseQuery(url.Query);
        Assert.False(query.ContainsKey("scope"));
        Assert.False(query.ContainsKey("resource"));
        Assert.StartsWith("https://as.example/authorize?response_type=code&client_id=c&", url.AbsoluteUri, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9000/authorize", true)]
    [InlineData("http://localhost:9000/authorize", true)]
    [InlineData("http://as.example/authorize", false)]
    [InlineData("javascript:alert(1)", false)]
    public void Build_OnlySendsBrowsersToHttpsOrLoopbackHttp(string endpoint, bool allowed)
    {
        var server = new AuthorizationServerMetadata { Issuer = "https://as.example", AuthorizationEndpoint = new Uri(endpoint) };

        var build = () => AuthorizationRequestBuilder.Build(server, "c", Redirect, "s", "ch", null, null);

        if (allowed)
        {
            Assert.Equal(new Uri(endpoint).Host, build().Host);
        }
        else
        {
            Assert.Throws<OAuthProtocolException>(build);
        }
    }

    [Fact]
    public void Build_WithoutAuthorizationEndpoint_Throws()
    {
        var ex = Assert.Throws<OAuthProtocolException>(() =>
            AuthorizationRequestBuilder.Build(new AuthorizationServerMetadata { Issuer = "https://as.example" }, "c", Redirect, "s", "ch", null, null));

        Assert.Contains("no authorization_endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pkce_MatchesTheRfc7636Example()
    {
        Assert.Equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Pkce.ComputeS256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }

    [Fact]
    public void Pkce_CreatesFreshUrlSafeVerifiers()
    {
        var (verifier, challenge) = Pkce.CreateS256();
        var (other, _) = Pkce.CreateS256();

        Assert.Equal(43, verifier.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", verifier);
        Assert.Equal(Pkce.ComputeS256Challenge(verifier), challenge);
        Assert.NotEqual(verifier, other);
    }

    [Fact]
    public void State_Is32RandomBytesBase64Url()
    {
        var state = OAuthState.Create();

        Assert.Equal(43, state.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", state);
        Assert.NotEqual(state, OAuthState.Create());
    }
}
