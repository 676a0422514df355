namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>The client authentication methods of a token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, RFC 7591 §2).</summary>
public static class ClientAuthMethods
{
    /// <summary>A public client: <c>client_id</c> in the body, no secret.</summary>
    public const string None = "none";

    /// <summary>HTTP Basic with the form-encoded client id and secret.</summary>
    public const string ClientSecretBasic = "client_secret_basic";

    /// <summary><c>client_id</c> and <c>client_secret</c> in the form body.</summary>
    public const string ClientSecretPost = "client_secret_post";

    /// <summary>A JWT client assertion signed with the client's private key.</summary>
    public const string PrivateKeyJwt = "private_key_jwt";
}

/// <summary>What a token, refresh or revocation request authenticates with.</summary>
/// <param name="ClientId">The client identifier (a URL for Client ID Metadata Document clients).</param>
/// <param name="ClientSecret">The secret for <c>client_secret_basic</c> and <c>client_secret_post</c>.</param>
/// <param name="AuthMethod">One of <see cref="ClientAuthMethods"/>.</param>
/// <remarks><see cref="ToString"/> never prints the secret or the key.</remarks>
public sealed record ClientCredentials(string ClientId, string? ClientSecret, string AuthMethod)
{
    /// <summary>The PEM private key (PKCS#8, or PKCS#1 RSA / SEC1 EC) for <c>private_key_jwt</c>.</summary>
    public string? PrivateKeyPem { get; init; }

    /// <summary>The <c>kid</c> header of client assertions, when the authorization server knows the key by an id.</summary>
    public string? KeyId { get; init; }

    /// <summary>The JWS algorithm of client assertions; RS256 for RSA keys and ES256/ES384/ES512 by curve for EC keys when null.</summary>
    public string? SigningAlgorithm { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"ClientCredentials {{ ClientId = {ClientId}, AuthMethod = {AuthMethod}, ClientSecret = {(ClientSecret is null ? "(none)" : "(hidden)")}, " +
        $"PrivateKey = {(PrivateKeyPem is null ? "(none)" : "(hidden)")}, KeyId = {KeyId ?? "(none)"} }}";
}
