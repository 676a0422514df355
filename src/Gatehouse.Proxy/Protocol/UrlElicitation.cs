using System.Text.Json;
using Gatehouse.Core.Errors;

namespace Gatehouse.Proxy.Protocol;

/// <summary>URL-mode elicitation (2025-11-25): sending a person to a page, here Gatehouse's own connect page.</summary>
public static class UrlElicitation
{
    /// <summary>The JSON-RPC error code of <c>URLElicitationRequiredError</c>.</summary>
    public const int RequiredCode = -32042;

    /// <summary>The first revision with URL-mode elicitation.</summary>
    public const string FirstVersion = "2025-11-25";

    /// <summary>Marks a <c>requestState</c> that Gatehouse issued (never the upstream), so the retry's round can be removed.</summary>
    public const string RequestStatePrefix = "gatehouse-connect:";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// True when <paramref name="message"/> is an <c>initialize</c> request of revision 2025-11-25 or later that declares
    /// <c>capabilities.elicitation.url</c>; only such clients may be sent error -32042.
    /// </summary>
    public static bool DeclaredBy(ReadOnlySpan<byte> message) => Inspect(message, static root =>
        root.TryGetProperty("method", out var method) && method.ValueEquals("initialize")
        && root.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
        && parameters.TryGetProperty("protocolVersion", out var version) && version.ValueKind == JsonValueKind.String
        && string.CompareOrdinal(version.GetString(), FirstVersion) >= 0
        && parameters.TryGetProperty("capabilities", out var capabilities) && DeclaresUrl(capabilities));

    /// <summary>The <c>_meta</c> key under which 2026-07-28 clients declare their capabilities on every request.</summary>
    public const string ClientCapabilitiesMeta = "io.modelcontextprotocol/clientCapabilities";

    /// <summary>
    /// True when a 2026-07-28 request (<c>tools/call</c>, <c>resources/read</c> or <c>prompts/get</c>, the only ones that
    /// may answer <c>input_required</c>) declares <c>elicitation.url</c> in its <c>_meta</c> client capabilities.
    /// </summary>
    public static bool DeclaredInMeta(ReadOnlySpan<byte> message) => Inspect(message, static root =>
        root.TryGetProperty("method", out var method) && method.ValueKind == JsonValueKind.String
        && method.GetString() is "tools/call" or "resources/read" or "prompts/get"
        && root.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
        && parameters.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
        && meta.TryGetProperty(ClientCapabilitiesMeta, out var capabilities) && DeclaresUrl(capabilities));

    /// <summary>
    /// The message without the <c>requestState</c> and <c>inputResponses</c> of a round Gatehouse started; null when it
    /// carries no such round (the common case, decided without parsing).
    /// </summary>
    public static byte[]? WithoutGatehouseRound(ReadOnlySpan<byte> message)
    {
        if (message.IndexOf("\"gatehouse-connect:"u8) < 0)
        {
            return null;
        }

        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(message) is not System.Text.Json.Nodes.JsonObject root
                || root["params"] is not System.Text.Json.Nodes.JsonObject parameters
                || parameters["requestState"]?.GetValueKind() != JsonValueKind.String
                || !parameters["requestState"]!.GetValue<string>().StartsWith(RequestStatePrefix, StringComparison.Ordinal))
            {
                return null;
            }

            parameters.Remove("requestState");
            parameters.Remove("inputResponses");
            return JsonSerializer.SerializeToUtf8Bytes(root);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool DeclaresUrl(JsonElement capabilities) =>
        capabilities.ValueKind == JsonValueKind.Object
        && capabilities.TryGetProperty("elicitation", out var elicitation) && elicitation.ValueKind == JsonValueKind.Object
        && elicitation.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.Object;

    // Only read when a per-user connection is missing, so parsing the message a second time costs nothing on the hot path.
    private static bool Inspect(ReadOnlySpan<byte> message, Func<JsonElement, bool> check)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            if (!JsonDocument.TryParseValue(ref reader, out var document))
            {
                return false;
            }

            using (document)
            {
                return document.RootElement.ValueKind == JsonValueKind.Object && check(document.RootElement);
            }
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The 2026-07-28 answer: a result of type <c>input_required</c> whose one input request is an
    /// <c>elicitation/create</c> in URL mode. The client opens the URL, then retries the request with a new id.
    /// </summary>
    /// <remarks>
    /// <c>requestState</c> is the elicitation id and nothing more: Gatehouse keeps no state between the rounds (the retry
    /// succeeds once the connection exists), so a forged or replayed value can change nothing. The retry's round is
    /// removed before forwarding (<see cref="WithoutGatehouseRound"/>): the upstream never issued it.
    /// </remarks>
    public static byte[] InputRequiredBody(GatewayError error, string rawId, string server, string elicitationId)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WritePropertyName("id");
            writer.WriteRawValue(rawId, skipInputValidation: true);
            writer.WriteStartObject("result");
            writer.WriteString("resultType", "input_required");
            writer.WriteStartObject("inputRequests");
            writer.WriteStartObject("connect");
            writer.WriteString("method", "elicitation/create");
            writer.WriteStartObject("params");
            WriteUrlParams(writer, error, server, elicitationId);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteString("requestState", RequestStatePrefix + elicitationId);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteUrlParams(Utf8JsonWriter writer, GatewayError error, string server, string elicitationId)
    {
        writer.WriteString("mode", "url");
        writer.WriteString("elicitationId", elicitationId);
        writer.WriteString("url", error.ConnectUrl);
        writer.WriteString("message", $"Connect your account of '{server}' to Gatehouse: the page asks the upstream service to approve access for you.");
    }

    /// <summary>
    /// The <c>URLElicitationRequiredError</c> for <paramref name="error"/>: <c>data.elicitations[0]</c> sends the person to
    /// <see cref="GatewayError.ConnectUrl"/>; Gatehouse's own fields stay beside it in <c>data</c>.
    /// </summary>
    public static byte[] ErrorBody(GatewayError error, string rawId, string server, string elicitationId)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WritePropertyName("id");
            writer.WriteRawValue(rawId, skipInputValidation: true);
            writer.WriteStartObject("error");
            writer.WriteNumber("code", RequiredCode);
            writer.WriteString("message", error.Message);
            writer.WriteStartObject("data");
            writer.WriteStartArray("elicitations");
            writer.WriteStartObject();
            WriteUrlParams(writer, error, server, elicitationId);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteString("gatehouseError", error.Code);
            writer.WriteString("server", server);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
