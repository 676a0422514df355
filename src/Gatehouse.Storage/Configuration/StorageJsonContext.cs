using System.Text.Json.Serialization;

namespace Gatehouse.Storage.Configuration;

/// <summary>A header as stored: the value is sealed by the vault.</summary>
internal sealed record StoredHeader(string Name, string Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<StoredHeader>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(Gatehouse.Core.Servers.UpstreamOAuthSettings))]
[JsonSerializable(typeof(LoginProviderSettings))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
