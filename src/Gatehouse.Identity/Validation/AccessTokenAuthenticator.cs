using Gatehouse.Core.Errors;
using Gatehouse.Identity.Keys;
using Gatehouse.Proxy.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Validation;

/// <summary>
/// Validates Gatehouse access tokens on the request path, locally: RS256 signature with the authorization server's key,
/// issuer, <c>at+jwt</c> type, lifetime, and audience equal to the called server's resource URL (RFC 8707), so a token
/// for server A is refused on server B.
/// </summary>
/// <remarks>No database read: access tokens are short-lived for that reason.</remarks>
public sealed class AccessTokenAuthenticator(AuthorizationServerKeys keys, TimeProvider time) : IAccessTokenAuthenticator
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    // OpenIddict's private claim carrying the token's id in its store: what revocation marks.
    private const string TokenIdClaim = Claims.Private.TokenId;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <inheritdoc />
    public async ValueTask<(GatewayPrincipal? Principal, GatewayError? Error)> AuthenticateAsync(
        string token, string issuer, string resource, string serverName, CancellationToken cancellationToken)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = resource,
            IssuerSigningKey = keys.ValidationKey,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            // RFC 9068 access tokens only (OpenIddict writes the short form), never an identity token.
            ValidTypes = [JsonWebTokenTypes.AccessToken, JsonWebTokenTypes.Prefixes.Application + JsonWebTokenTypes.AccessToken],
            RequireExpirationTime = true,
            ClockSkew = ClockSkew,
            // The injected clock decides expiry, so tests need no sleeping.
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } e && now <= e + ClockSkew && (notBefore is not { } nb || nb - ClockSkew <= now);
            },
        };

        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenInvalidLifetimeException when _handler.CanReadToken(token) && _handler.ReadJsonWebToken(token).ValidTo is var to && to != DateTime.MinValue
                    => (null, GatewayErrors.AccessTokenExpired(new DateTimeOffset(to, TimeSpan.Zero))),
                SecurityTokenInvalidAudienceException => (null, GatewayErrors.AccessTokenNotForServer(serverName)),
                _ => (null, GatewayErrors.AccessTokenInvalid()),
            };
        }

        if (result.Claims.TryGetValue(Claims.Subject, out var sub) is false || sub is not string subject)
        {
            return (null, GatewayErrors.AccessTokenInvalid());
        }

        var label = result.Claims.TryGetValue(Claims.Name, out var name) && name is string n ? n : subject;
        var client = result.Claims.TryGetValue(Claims.ClientId, out var c) && c is string clientId ? clientId : null;
        var tokenId = result.Claims.TryGetValue(TokenIdClaim, out var t) && t is string id ? id : null;
        return (new GatewayPrincipal("user:" + subject, label, null) { ClientId = client, AccessTokenId = tokenId }, null);
    }
}
