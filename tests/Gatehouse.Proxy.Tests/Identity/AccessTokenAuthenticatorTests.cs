using System.Security.Cryptography;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Security;
using Gatehouse.Identity.Keys;
using Gatehouse.Identity.Validation;
using Gatehouse.Storage;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>The proxy's local validation of Gatehouse access tokens, on an injected clock.</summary>
public sealed class AccessTokenAuthenticatorTests : IAsyncLifetime
{
    private const string Issuer = "http://127.0.0.1:8080/";
    private const string ResourceA = "http://127.0.0.1:8080/mcp/alpha";
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-keys-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private AuthorizationServerKeys _keys = null!;

    public async Task InitializeAsync()
    {
        var storage = new GatehouseStorage(_dir);
        await storage.InitializeAsync();
        _keys = await AuthorizationServerKeys.LoadOrCreateAsync(storage, new ReversingProtector(), _time);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private string Token(string audience = ResourceA, string issuer = Issuer, string type = "at+jwt", SecurityKey? key = null, TimeSpan? lifetime = null)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(15)),
            TokenType = type,
            Claims = new Dictionary<string, object> { ["sub"] = "7d1c0d7e-0000-4000-8000-000000000001", ["name"] = "admin", ["client_id"] = "ghc_client" },
            SigningCredentials = new SigningCredentials(key ?? _keys.SigningKey, SecurityAlgorithms.RsaSha256),
        });
    }

    private ValueTask<(Authentication.GatewayPrincipal? Principal, GatewayError? Error)> CheckAsync(string token) =>
        new AccessTokenAuthenticator(_keys, _time).AuthenticateAsync(token, Issuer, ResourceA, "alpha", CancellationToken.None);

    [Fact]
    public async Task A_valid_token_becomes_the_users_principal_with_its_client()
    {
        var (principal, error) = await CheckAsync(Token());
        Assert.Null(error);
        Assert.Equal("user:7d1c0d7e-0000-4000-8000-000000000001", principal!.Id);
        Assert.Equal("admin", principal.Label);
        Assert.Equal("ghc_client", principal.ClientId);
        Assert.Null(principal.Grant);
    }

    [Fact]
    public async Task An_expired_token_is_refused_with_its_expiry_once_the_clock_passes_it()
    {
        var token = Token(lifetime: TimeSpan.FromMinutes(15));
        _time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(20));
        Assert.Null((await CheckAsync(token)).Error);

        _time.Advance(TimeSpan.FromSeconds(20));
        var (_, error) = await CheckAsync(token);
        Assert.Equal(GatewayErrorId.AccessTokenExpired, error!.Id);
        Assert.Contains("2026-11-26T12:15:00Z", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_for_another_server_is_refused_as_not_for_this_server()
    {
        var (_, error) = await CheckAsync(Token(audience: "http://127.0.0.1:8080/mcp/beta"));
        Assert.Equal(GatewayErrorId.AccessTokenNotForServer, error!.Id);
    }

    [Fact]
    public async Task Tokens_of_another_issuer_type_or_key_are_invalid()
    {
        using var otherRsa = RSA.Create(2048);
        foreach (var token in new[]
                 {
                     Token(issuer: "http://evil.example.com/"),
                     Token(type: "JWT"),
                     Token(key: new RsaSecurityKey(otherRsa) { KeyId = _keys.SigningKey.KeyId }),
                 })
        {
            var (principal, error) = await CheckAsync(token);
            Assert.Null(principal);
            Assert.Equal(GatewayErrorId.AccessTokenInvalid, error!.Id);
        }
    }

    [Fact]
    public async Task The_keys_are_stored_sealed_and_load_the_same_next_time()
    {
        var again = await AuthorizationServerKeys.LoadOrCreateAsync(new GatehouseStorage(_dir), new ReversingProtector(), _time);
        Assert.Equal(_keys.SigningKey.KeyId, again.SigningKey.KeyId);
        Assert.Null((await new AccessTokenAuthenticator(again, _time).AuthenticateAsync(Token(), Issuer, ResourceA, "alpha", CancellationToken.None)).Error);

        await using var db = new GatehouseStorage(_dir).CreateContext();
        var signing = db.AuthorizationServerKeys.Single(k => k.Purpose == "signing");
        Assert.StartsWith("sealed:", signing.KeySealed, StringComparison.Ordinal);
    }

    /// <summary>A stand-in for the vault that marks what it sealed.</summary>
    private sealed class ReversingProtector : ISecretProtector
    {
        public string Protect(string plaintext) => "sealed:" + new string(plaintext.Reverse().ToArray());

        public string Unprotect(string protectedValue) => new(protectedValue["sealed:".Length..].Reverse().ToArray());
    }
}
