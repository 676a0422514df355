using System.Text.Json;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Protocol;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class ClientRegistrationClientTests : IDisposable
{
    private static readonly ClientRegistrationRequest Request = new(
        ClientName: "Gatehouse",
        RedirectUris: ["https://gatehouse.example.com/connect/callback"],
        GrantTypes: ["authorization_code", "refresh_token"],
        ResponseTypes: ["code"],
        TokenEndpointAuthMethod: ClientAuthMethods.ClientSecretBasic,
        SoftwareId: "gatehouse",
        SoftwareVersion: "1");

    private readonly GuardedHttpClient _http = new(TimeSpan.FromSeconds(5));
    private readonly ClientRegistrationClient _registration;

    public ClientRegistrationClientTests() => _registration = new ClientRegistrationClient(_http);

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Register_PostsClientMetadataAndReadsTheClient()
    {
        await using var server = await RegistrationServerAsync(
            """{"client_id":"abc","client_secret":"shh","client_secret_expires_at":0,"token_endpoint_auth_method":"client_secret_post","registration_access_token":"rat","registration_client_uri":"https://as.example/register/abc"}""",
            201);

        var client = await _registration.RegisterAsync(Metadata(server), Request, OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal("abc", client.ClientId);
        Assert.Equal("shh", client.ClientSecret);
        Assert.Null(client.ClientSecretExpiresAt);
        Assert.Equal("client_secret_post", client.TokenEndpointAuthMethod);
        Assert.Equal("rat", client.RegistrationAccessToken);
        Assert.Equal(new Uri("https://as.example/register/abc"), client.RegistrationClientUri);
        Assert.DoesNotContain("shh", client.ToString(), StringComparison.Ordinal);

        var request = Assert.Single(server.Requests);
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("Gatehouse", root.GetProperty("client_name").GetString());
        Assert.Equal("https://gatehouse.example.com/connect/callback", root.GetProperty("redirect_uris")[0].GetString());
        Assert.Equal(2, root.GetProperty("grant_types").GetArrayLength());
        Assert.Equal("code", root.GetProperty("response_types")[0].GetString());
        Assert.Equal("client_secret_basic", root.GetProperty("token_endpoint_auth_method").GetString());
        Assert.Equal("gatehouse", root.GetProperty("software_id").GetString());
        Assert.False(root.TryGetProperty("scope", out _));
        Assert.False(root.TryGetProperty("client_uri", out _));
    }

    [Fact]
    public async Task Register_MinimalAnswer_FallsBackToTheRequestedMethod()
    {
        await using var server = await RegistrationServerAsync("""{"client_id":"abc","client_secret_expires_at":1893456000}""", 200);

        var client = await _registration.RegisterAsync(Metadata(server), Request, OutboundUrlPolicy.WithLoopback, default);

        Assert.Null(client.ClientSecret);
        Assert.Equal(ClientAuthMethods.ClientSecretBasic, client.TokenEndpointAuthMethod);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1893456000), client.ClientSecretExpiresAt);
    }

    [Fact]
    public async Task Register_Refusal_CarriesTheServersError()
    {
        await using var server = await RegistrationServerAsync("""{"error":"invalid_redirect_uri","error_description":"Redirect URI not allowed"}""", 400);

        var ex = await Assert.ThrowsAsync<OAuthProtocolException>(() => _registration.RegisterAsync(Metadata(server), Request, OutboundUrlPolicy.WithLoopback, default));

        Assert.Equal("invalid_redirect_uri", ex.Error);
        Assert.Equal("Redirect URI not allowed", ex.ErrorDescription);
        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("refused to register Gatehouse (HTTP 400, invalid_redirect_uri: Redirect URI not allowed)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_AnswerWithoutClientId_Fails()
    {
        await using var server = await RegistrationServerAsync("""{"client_name":"x"}""", 201);

        var ex = await Assert.ThrowsAsync<OAuthProtocolException>(() => _registration.RegisterAsync(Metadata(server), Request, OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("without a client_id", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_WithoutEndpoint_Fails()
    {
        var ex = await Assert.ThrowsAsync<OAuthProtocolException>(() =>
            _registration.RegisterAsync(new AuthorizationServerMetadata { Issuer = "https://as.example" }, Request, OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("no dynamic client registration", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "client_secret_basic")]
    [InlineData(new string[0], "client_secret_basic")]
    [InlineData(new[] { "none", "client_secret_basic", "client_secret_post" }, "client_secret_basic")]
    [InlineData(new[] { "client_secret_post", "none" }, "client_secret_post")]
    [InlineData(new[] { "private_key_jwt", "none" }, "none")]
    [InlineData(new[] { "private_key_jwt" }, "none")]
    public void ChooseAuthMethod_PrefersBasicThenPostThenNone(string[]? supported, string expected) =>
        Assert.Equal(expected, ClientRegistrationClient.ChooseAuthMethod(new AuthorizationServerMetadata { TokenEndpointAuthMethodsSupported = supported }));

    private static AuthorizationServerMetadata Metadata(LoopbackServer server) =>
        new() { Issuer = server.Origin, TokenEndpoint = server.Url("/token"), RegistrationEndpoint = server.Url("/register") };

    private static async Task<LoopbackServer> RegistrationServerAsync(string body, int status) =>
        await LoopbackServer.StartAsync((app, _) => app.MapPost("/register", (HttpContext c) => LoopbackServer.Json(c, body, status)));
}
