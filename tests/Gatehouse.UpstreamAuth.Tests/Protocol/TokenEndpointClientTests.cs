using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Protocol;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class TokenEndpointClientTests : IDisposable
{
    private const string TokenJson = """{"access_token":"at-123","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-456","refresh_expires_in":"86400","scope":"mcp:read"}""";
    private static readonly OutboundUrlPolicy Policy = OutboundUrlPolicy.WithLoopback;
    private readonly GuardedHttpClient _http = new(TimeSpan.FromSeconds(5));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
    private readonly TokenEndpointClient _tokens;

    public TokenEndpointClientTests() => _tokens = new TokenEndpointClient(_http, _time);

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task ClientSecretBasic_FormEncodesIdAndSecretBeforeBase64()
    {
        await using var server = await TokenServerAsync(TokenJson);
        var client = new ClientCredentials("my client:1/é", "p@ss word+/=%:&", ClientAuthMethods.ClientSecretBasic);

        var result = await _tokens.ClientCredentialsAsync(Metadata(server), client, null, null, Policy, default);

        Assert.IsType<TokenSet>(result);
        var request = Assert.Single(server.Requests);
        var header = request.Header("Authorization")!;
        Assert.StartsWith("Basic ", header, StringComparison.Ordinal);
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
        Assert.Equal("my%20client%3A1%2F%C3%A9:p%40ss%20word%2B%2F%3D%25%3A%26", decoded);
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        Assert.Equal("my client:1/é", WebUtility.UrlDecode(decoded[..colon]));
        Assert.Equal("p@ss word+/=%:&", WebUtility.UrlDecode(decoded[(colon + 1)..]));
        Assert.False(request.Form.ContainsKey("client_id"));
        Assert.False(request.Form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task ClientSecretPost_PutsIdAndSecretInTheBody()
    {
        await using var server = await TokenServerAsync(TokenJson);

        await _tokens.ClientCredentialsAsync(Metadata(server), new ClientCredentials("id", "sec ret", ClientAuthMethods.ClientSecretPost), null, "a b", Policy, default);

        var request = Assert.Single(server.Requests);
        Assert.Null(request.Header("Authorization"));
        Assert.Equal("id", request.Form["client_id"]);
        Assert.Equal("sec ret", request.Form["client_secret"]);
        Assert.Equal("client_credentials", request.Form["grant_type"]);
        Assert.Equal("a b", request.Form["scope"]);
        Assert.Equal("application/x-www-form-urlencoded", request.Header("Content-Type"));
    }

    [Fact]
    public async Task None_SendsOnlyTheClientId()
    {
        await using var server = await TokenServerAsync(TokenJson);

        await _tokens.ExchangeCodeAsync(
            Metadata(server), new ClientCredentials("public-client", null, ClientAuthMethods.None), "the-code", "the-verifier",
            new Uri("http://127.0.0.1:1/callback"), "https://mcp.example.com/mcp", Policy, default);

        var request = Assert.Single(server.Requests);
        Assert.Null(request.Header("Authorization"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = "the-code",
                ["code_verifier"] = "the-verifier",
                ["redirect_uri"] = "http://127.0.0.1:1/callback",
                ["resource"] = "https://mcp.example.com/mcp",
                ["client_id"] = "public-client",
            },
            request.Form);
    }

    [Fact]
    public async Task Refresh_SendsTheResourceAndScope()
    {
        await using var server = await TokenServerAsync(TokenJson);

        await _tokens.RefreshAsync(Metadata(server), new ClientCredentials("c", null, ClientAuthMethods.None), "old-rt", "https://mcp.example.com/mcp", "mcp:read", Policy, default);

        var form = Assert.Single(server.Requests).Form;
        Assert.Equal("refresh_token", form["grant_type"]);
        Assert.Equal("old-rt", form["refresh_token"]);
        Assert.Equal("https://mcp.example.com/mcp", form["resource"]);
        Assert.Equal("mcp:read", form["scope"]);
    }

    [Fact]
    public async Task TokenResponse_IsReadWithTheInjectedClock()
    {
        await using var server = await TokenServerAsync(TokenJson);

        var result = await _tokens.RefreshAsync(Metadata(server), new ClientCredentials("c", null, ClientAuthMethods.None), "rt", null, null, Policy, default);

        var tokens = Assert.IsType<TokenSet>(result);
        Assert.Equal("at-123", tokens.AccessToken);
        Assert.Equal("Bearer", tokens.TokenType);
        Assert.Equal(_time.GetUtcNow().AddHours(1), tokens.ExpiresAt);
        Assert.Equal("rt-456", tokens.RefreshToken);
        Assert.Equal(_time.GetUtcNow().AddDays(1), tokens.RefreshTokenExpiresAt);
        Assert.Equal("mcp:read", tokens.Scope);
        Assert.DoesNotContain("at-123", tokens.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("rt-456", tokens.ToString(), StringComparison.Ordinal);
        Assert.False(server.Requests[0].Form.ContainsKey("resource"));
    }

    [Fact]
    public async Task TokenResponse_WithoutRefreshTokenOrLifetime_LeavesThemNull()
    {
        await using var server = await TokenServerAsync("""{"access_token":"a","token_type":"bearer"}""");

        var tokens = Assert.IsType<TokenSet>(await _tokens.ClientCredentialsAsync(Metadata(server), Basic, null, null, Policy, default));

        Assert.Null(tokens.RefreshToken);
        Assert.Null(tokens.ExpiresAt);
        Assert.Null(tokens.Scope);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PrivateKeyJwt_SignsAnAssertionTheServerCanVerify(bool rsa)
    {
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SecurityKey publicKey = key is RSA r ? new RsaSecurityKey(r.ExportParameters(false)) : new ECDsaSecurityKey(ECDsa.Create(((ECDsa)key).ExportParameters(false)));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = new TokenEndpointClient(_http, time);
        await using var server = await TokenServerAsync(TokenJson);
        var client = new ClientCredentials("conformance-test-client", null, ClientAuthMethods.PrivateKeyJwt)
        {
            PrivateKeyPem = key.ExportPkcs8PrivateKeyPem(),
            KeyId = "key-1",
        };

        var result = await tokens.ClientCredentialsAsync(Metadata(server), client, "https://mcp.example.com/mcp", null, Policy, default);

        Assert.IsType<TokenSet>(result);
        var form = Assert.Single(server.Requests).Form;
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"], new TokenValidationParameters
        {
            ValidIssuer = "conformance-test-client",
            ValidAudience = server.Origin,
            IssuerSigningKey = publicKey,
            ClockSkew = TimeSpan.FromSeconds(30),
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        var jwt = (JsonWebToken)validation.SecurityToken;
        Assert.Equal("conformance-test-client", jwt.Subject);
        Assert.Equal(rsa ? "RS256" : "ES256", jwt.Alg);
        Assert.Equal("key-1", jwt.Kid);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.Equal(TimeSpan.FromMinutes(5), jwt.ValidTo - jwt.IssuedAt);
        Assert.Null(server.Requests[0].Header("Authorization"));
        Assert.False(form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task PrivateKeyJwt_WithUnreadableKey_IsRejectedWithoutARequest()
    {
        await using var server = await TokenServerAsync(TokenJson);
        var client = new ClientCredentials("c", null, ClientAuthMethods.PrivateKeyJwt) { PrivateKeyPem = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----" };

        var failure = Assert.IsType<OAuthFailure>(await _tokens.ClientCredentialsAsync(Metadata(server), client, null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Rejected, failure.Kind);
        Assert.Equal("client_configuration", failure.Error);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task InvalidGrant_IsClassifiedWithTheServersDescription()
    {
        await using var server = await TokenServerAsync("""{"error":"invalid_grant","error_description":"Refresh token expired"}""", 400);

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.InvalidGrant, failure.Kind);
        Assert.Equal("invalid_grant", failure.Error);
        Assert.Equal("Refresh token expired", failure.Description);
        Assert.Equal(400, failure.StatusCode);
    }

    [Fact]
    public async Task InvalidClient_With401_IsInvalidClient()
    {
        await using var server = await TokenServerAsync("""{"error":"invalid_client"}""", 401);

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.InvalidClient, failure.Kind);
    }

    [Fact]
    public async Task InvalidScope_IsInvalidScope()
    {
        await using var server = await TokenServerAsync("""{"error":"invalid_scope"}""", 400);

        Assert.Equal(OAuthFailureKind.InvalidScope, Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, "x", Policy, default)).Kind);
    }

    [Fact]
    public async Task ServiceUnavailable_IsTransientWithRetryAfter()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapPost("/token", (HttpContext c) =>
        {
            c.Response.Headers.RetryAfter = "7";
            c.Response.StatusCode = 503;
            return Task.CompletedTask;
        }));

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Transient, failure.Kind);
        Assert.Equal("http_503", failure.Error);
        Assert.Equal(503, failure.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
        Assert.False(failure.MayHaveBeenProcessed);
    }

    [Fact]
    public async Task An_answer_dropped_after_the_request_arrived_or_a_500_may_have_been_processed()
    {
        await using var dropping = await LoopbackServer.StartAsync((app, _) => app.MapPost("/token", async (HttpContext c) =>
        {
            await c.Request.ReadFormAsync();
            c.Abort();
        }));
        await using var failing = await TokenServerAsync("""{"error":"server_error"}""", 500);

        var dropped = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(dropping), Basic, "rt", null, null, Policy, default));
        var failed = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(failing), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Transient, dropped.Kind);
        Assert.True(dropped.MayHaveBeenProcessed);
        Assert.Equal(OAuthFailureKind.Transient, failed.Kind);
        Assert.True(failed.MayHaveBeenProcessed);
    }

    [Fact]
    public async Task TooManyRequests_IsTransient()
    {
        await using var server = await TokenServerAsync("""{"error":"slow_down"}""", 429);

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));
        Assert.Equal(OAuthFailureKind.Transient, failure.Kind);
        Assert.False(failure.MayHaveBeenProcessed);
    }

    [Fact]
    public async Task ConnectionRefused_IsTransient()
    {
        var server = new AuthorizationServerMetadata { Issuer = "http://127.0.0.1", TokenEndpoint = new Uri($"http://127.0.0.1:{TestPorts.Closed()}/token") };

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(server, Basic, "secret-refresh-token", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Transient, failure.Kind);
        Assert.Equal("network_error", failure.Error);
        Assert.Null(failure.StatusCode);
        Assert.False(failure.MayHaveBeenProcessed);
        Assert.DoesNotContain("secret-refresh-token", failure.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", failure.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"access_token":"a","token_type":"mac"}""", "unsupported_token_type")]
    [InlineData("""{"access_token":"a"}""", "unsupported_token_type")]
    [InlineData("""{"token_type":"Bearer"}""", "invalid_response")]
    [InlineData("""<html>oops</html>""", "invalid_response")]
    [InlineData("""["a"]""", "invalid_response")]
    public async Task UnusableSuccessResponse_IsRejected(string body, string error)
    {
        await using var server = await TokenServerAsync(body);

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Rejected, failure.Kind);
        Assert.Equal(error, failure.Error);
    }

    [Fact]
    public async Task OtherClientError_IsRejectedAndTheDescriptionIsShortened()
    {
        await using var server = await TokenServerAsync($$"""{"error":"unsupported_grant_type","error_description":"{{new string('d', 1000)}}"}""", 400);

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(Metadata(server), Basic, "rt", null, null, Policy, default));

        Assert.Equal(OAuthFailureKind.Rejected, failure.Kind);
        Assert.Equal("unsupported_grant_type", failure.Error);
        Assert.Equal(200, failure.Description!.Length);
    }

    [Fact]
    public async Task RefusedTokenEndpoint_IsRejected()
    {
        var server = new AuthorizationServerMetadata { Issuer = "https://as.example", TokenEndpoint = new Uri("https://10.0.0.1/token") };

        var failure = Assert.IsType<OAuthFailure>(await _tokens.RefreshAsync(server, Basic, "rt", null, null, OutboundUrlPolicy.PublicOnly, default));

        Assert.Equal(OAuthFailureKind.Rejected, failure.Kind);
        Assert.Equal("url_refused", failure.Error);
        Assert.Contains("10.0.0.1 is a private address", failure.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_SendsTokenAndHintWithClientAuthentication()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapPost("/revoke", () => Results.Ok()));
        var metadata = Metadata(server) with { RevocationEndpoint = server.Url("/revoke") };

        var result = await _tokens.RevokeAsync(metadata, Basic, "rt-to-revoke", "refresh_token", Policy, default);

        Assert.Equal(RevocationOutcome.Revoked, result.Outcome);
        Assert.Equal("revoked", result.ToString());
        var request = Assert.Single(server.Requests);
        Assert.Equal("/revoke", request.Path);
        Assert.Equal("rt-to-revoke", request.Form["token"]);
        Assert.Equal("refresh_token", request.Form["token_type_hint"]);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("client:s3cret")), request.Header("Authorization"));
    }

    [Fact]
    public async Task Revoke_WithoutEndpoint_IsNotSupported()
    {
        var result = await _tokens.RevokeAsync(new AuthorizationServerMetadata { Issuer = "https://as.example" }, Basic, "t", "access_token", Policy, default);

        Assert.Equal(RevocationOutcome.NotSupported, result.Outcome);
    }

    [Fact]
    public async Task Revoke_ServerError_FailsTransiently()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapPost("/revoke", () => Results.StatusCode(503)));

        var result = await _tokens.RevokeAsync(Metadata(server) with { RevocationEndpoint = server.Url("/revoke") }, Basic, "t", "access_token", Policy, default);

        Assert.Equal(RevocationOutcome.Failed, result.Outcome);
        Assert.Equal(OAuthFailureKind.Transient, result.Failure?.Kind);
        Assert.StartsWith("revocation failed (http_503 (HTTP 503)", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_ToString_HidesTheSecretAndKey()
    {
        var text = new ClientCredentials("id", "s3cret", ClientAuthMethods.ClientSecretBasic) { PrivateKeyPem = "PEM-BODY" }.ToString();

        Assert.Contains("id", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("PEM-BODY", text, StringComparison.Ordinal);
    }

    private static ClientCredentials Basic => new("client", "s3cret", ClientAuthMethods.ClientSecretBasic);

    private static AuthorizationServerMetadata Metadata(LoopbackServer server) =>
        new() { Issuer = server.Origin, TokenEndpoint = server.Url("/token") };

    private static async Task<LoopbackServer> TokenServerAsync(string body, int status = 200) =>
        await LoopbackServer.StartAsync((app, _) => app.MapPost("/token", (HttpContext c) => LoopbackServer.Json(c, body, status)));
}
