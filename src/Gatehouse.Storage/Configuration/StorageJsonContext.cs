using System.Text.Json.Serialization;

namespace Gatehouse.Storage.Configuration;

/// <summary>A header as stored: the value is sealed by the vault.</summary>
internal sealed record StoredHeader(string Name, string Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<StoredHeader>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
