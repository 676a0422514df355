using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>An OAuth 2.0 Protected Resource Metadata document (RFC 9728 §2); unknown members are ignored.</summary>
public sealed record ProtectedResourceMetadata
{
    /// <summary>The resource identifier the document describes; it must cover the MCP endpoint's URL.</summary>
    [JsonPropertyName("resource")]
    public string? Resource { get; init; }

    /// <summary>Issuer identifiers of authorization servers that issue tokens for the resource.</summary>
    [JsonPropertyName("authorization_servers")]
    public IReadOnlyList<string>? AuthorizationServers { get; init; }

    /// <summary>Scopes the resource understands.</summary>
    [JsonPropertyName("scopes_supported")]
    public IReadOnlyList<string>? ScopesSupported { get; init; }

    /// <summary>How the resource accepts bearer tokens (<c>header</c>, <c>body</c>, <c>query</c>).</summary>
    [JsonPropertyName("bearer_methods_supported")]
    public IReadOnlyList<string>? BearerMethodsSupported { get; init; }
}
