using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>
/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2, also read from OpenID Connect discovery documents); unknown
/// members are ignored. Serializes with its standard member names, so it can be stored and read back as is.
/// </summary>
public sealed record AuthorizationServerMetadata
{
    /// <summary>The issuer identifier; discovery requires it to equal the issuer the document was looked up for.</summary>
    [JsonPropertyName("issuer")]
    public string? Issuer { get; init; }

    /// <summary>Where the browser is sent to authorize.</summary>
    [JsonPropertyName("authorization_endpoint")]
    public Uri? AuthorizationEndpoint { get; init; }

    /// <summary>Where codes, refresh tokens and client credentials are exchanged for tokens.</summary>
    [JsonPropertyName("token_endpoint")]
    public Uri? TokenEndpoint { get; init; }

    /// <summary>Dynamic client registration (RFC 7591), when offered.</summary>
    [JsonPropertyName("registration_endpoint")]
    public Uri? RegistrationEndpoint { get; init; }

    /// <summary>Token revocation (RFC 7009), when offered.</summary>
    [JsonPropertyName("revocation_endpoint")]
    public Uri? RevocationEndpoint { get; init; }

    /// <summary>Scopes the server knows (may include <c>offline_access</c>).</summary>
    [JsonPropertyName("scopes_supported")]
    public IReadOnlyList<string>? ScopesSupported { get; init; }

    /// <summary>Supported <c>response_type</c> values.</summary>
    [JsonPropertyName("response_types_supported")]
    public IReadOnlyList<string>? ResponseTypesSupported { get; init; }

    /// <summary>Supported grant types; RFC 8414 defaults to <c>authorization_code</c> and <c>implicit</c> when absent.</summary>
    [JsonPropertyName("grant_types_supported")]
    public IReadOnlyList<string>? GrantTypesSupported { get; init; }

    /// <summary>Supported PKCE methods; OAuth 2.1 clients need <c>S256</c> here.</summary>
    [JsonPropertyName("code_challenge_methods_supported")]
    public IReadOnlyList<string>? CodeChallengeMethodsSupported { get; init; }

    /// <summary>Supported client authentication methods at the token endpoint; RFC 8414 defaults to <c>client_secret_basic</c> when absent.</summary>
    [JsonPropertyName("token_endpoint_auth_methods_supported")]
    public IReadOnlyList<string>? TokenEndpointAuthMethodsSupported { get; init; }

    /// <summary>JWS algorithms accepted for <c>private_key_jwt</c> client assertions.</summary>
    [JsonPropertyName("token_endpoint_auth_signing_alg_values_supported")]
    public IReadOnlyList<string>? TokenEndpointAuthSigningAlgValuesSupported { get; init; }

    /// <summary>True when the server accepts a URL as client id and fetches the client's metadata document from it.</summary>
    [JsonPropertyName("client_id_metadata_document_supported")]
    public bool? ClientIdMetadataDocumentSupported { get; init; }

    /// <summary>True when authorization responses carry <c>iss</c> (RFC 9207), which the client must then check.</summary>
    [JsonPropertyName("authorization_response_iss_parameter_supported")]
    public bool? AuthorizationResponseIssParameterSupported { get; init; }
}
