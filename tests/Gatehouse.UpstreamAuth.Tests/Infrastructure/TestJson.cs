using System.Text.Json.Serialization;

namespace Gatehouse.UpstreamAuth.Tests.Infrastructure;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class TestJson : JsonSerializerContext;
