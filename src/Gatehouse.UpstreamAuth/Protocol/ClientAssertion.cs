using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>JWT client assertions for <c>private_key_jwt</c> (RFC 7523 §2.2, OpenID Connect Core §9).</summary>
internal static class ClientAssertion
{
    /// <summary>The <c>client_assertion_type</c> of a JWT assertion.</summary>
    public const string JwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>How long an assertion is valid.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>Signs an assertion: <c>iss</c> = <c>sub</c> = the client id, <c>aud</c> = the authorization server's issuer, a random <c>jti</c>, five minutes of validity.</summary>
    /// <exception cref="OAuthProtocolException">The key is missing, unreadable or does not fit the algorithm.</exception>
    public static string Create(ClientCredentials client, string audience, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(client.PrivateKeyPem))
        {
            throw new OAuthProtocolException($"Client '{client.ClientId}' authenticates with private_key_jwt but has no private key; configure the PEM private key.");
        }

        using var key = LoadKey(client.PrivateKeyPem, client.ClientId);
        var algorithm = client.SigningAlgorithm ?? DefaultAlgorithm(key);
        SecurityKey securityKey = key switch
        {
            RSA rsa when algorithm.StartsWith("RS", StringComparison.Ordinal) || algorithm.StartsWith("PS", StringComparison.Ordinal) => new RsaSecurityKey(rsa),
            ECDsa ec when algorithm.StartsWith("ES", StringComparison.Ordinal) => new ECDsaSecurityKey(ec),
            _ => throw new OAuthProtocolException(
                $"The private key of client '{client.ClientId}' cannot sign with {algorithm}; use RS256/PS256 with an RSA key or ES256/ES384/ES512 with an EC key."),
        };
        securityKey.KeyId = client.KeyId;

        // The key object is disposed after signing, so no signature provider may be cached for it.
        securityKey.CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false };

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = client.ClientId,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = client.ClientId,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
            SigningCredentials = new SigningCredentials(securityKey, algorithm),
        };

        try
        {
            return Handler.CreateToken(descriptor);
        }
        catch (Exception ex) when (ex is SecurityTokenException or ArgumentException or NotSupportedException or CryptographicException)
        {
            throw new OAuthProtocolException($"Signing the client assertion of client '{client.ClientId}' with {algorithm} failed: {ex.GetType().Name}.", inner: ex);
        }
    }

    private static AsymmetricAlgorithm LoadKey(string pem, string clientId)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return rsa;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new OAuthProtocolException(
                $"The private key of client '{clientId}' is not an unencrypted PEM RSA or EC private key (PKCS#8 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY').", inner: ex);
        }
    }

    private static string DefaultAlgorithm(AsymmetricAlgorithm key) => key switch
    {
        ECDsa { KeySize: 384 } => SecurityAlgorithms.EcdsaSha384,
        ECDsa { KeySize: 521 } => SecurityAlgorithms.EcdsaSha512,
        ECDsa => SecurityAlgorithms.EcdsaSha256,
        _ => SecurityAlgorithms.RsaSha256,
    };
}
