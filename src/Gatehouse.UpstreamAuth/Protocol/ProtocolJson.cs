using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>An OAuth error response body (RFC 6749 §5.2, RFC 7591 §3.2.2).</summary>
internal sealed record OAuthErrorResponse
{
    public string? Error { get; init; }

    public string? ErrorDescription { get; init; }
}

/// <summary>A client information response (RFC 7591 §3.2.1), as far as Gatehouse uses it.</summary>
internal sealed record RegistrationResponse
{
    public string? ClientId { get; init; }

    public string? ClientSecret { get; init; }

    public long? ClientSecretExpiresAt { get; init; }

    public string? TokenEndpointAuthMethod { get; init; }

    public string? RegistrationAccessToken { get; init; }

    public string? RegistrationClientUri { get; init; }
}

/// <summary>Source-generated JSON for the OAuth documents Gatehouse reads and writes: snake_case, nulls omitted, unknown members ignored.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ProtectedResourceMetadata))]
[JsonSerializable(typeof(AuthorizationServerMetadata))]
[JsonSerializable(typeof(ClientRegistrationRequest))]
[JsonSerializable(typeof(RegistrationResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
