using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Testing.Hosting;

/// <summary>
/// A hand-written JSON-RPC responder at <c>POST /raw</c>. The SDK's typed model drops fields it does not
/// know, so byte-faithfulness of a gateway can only be tested against an upstream that writes its bytes
/// itself; every answer here carries unknown fields at the envelope, result and nested levels.
/// </summary>
internal static class RawEndpoint
{
    public static async Task HandlePostAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest,
                """{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"},"x-top":1}""").ConfigureAwait(false);
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                await WriteAsync(context, StatusCodes.Status400BadRequest,
                    """{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: batches are not supported"},"x-top":1}""").ConfigureAwait(false);
                return;
            }

            // Notifications and responses to our (non-existent) requests get the streamable 202.
            if (!root.TryGetProperty("id", out var id) || !root.TryGetProperty("method", out var methodElement))
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                return;
            }

            var method = methodElement.GetString() ?? string.Empty;
            var result = method switch
            {
                "initialize" => InitializeResult(root),
                "tools/list" => ToolsListResult,
                _ => TestUpstream.RawResultJson,
            };

            // The id is echoed as its original text so numbers like 1.0 or large integers survive untouched.
            await WriteAsync(context, StatusCodes.Status200OK, BuildResponse(id.GetRawText(), result)).ConfigureAwait(false);
        }
    }

    /// <summary>The exact envelope written for a request with the given raw id and raw result.</summary>
    public static string BuildResponse(string rawId, string rawResult) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + rawId + ",\"result\":" + rawResult + ",\"x-top\":1}";

    private const string ToolsListResult =
        """{"tools":[{"name":"raw","description":"Answers with unknown JSON fields","inputSchema":{"type":"object"},"x-tool":{"kept":true}}],"x-unknown":{"kept":true}}""";

    private static string InitializeResult(JsonElement request)
    {
        // Echo the client's version so any era of client accepts the handshake.
        var version = "2025-11-25";
        if (request.TryGetProperty("params", out var parameters)
            && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("protocolVersion", out var requested)
            && requested.ValueKind == JsonValueKind.String)
        {
            version = requested.GetString() ?? version;
        }

        var encoded = JsonEncodedText.Encode(version).ToString();
        return "{\"protocolVersion\":\"" + encoded + "\",\"capabilities\":{\"tools\":{},\"x-capability\":{\"kept\":true}},"
            + "\"serverInfo\":{\"name\":\"gatehouse-raw\",\"version\":\"1.0.0\",\"x-info\":1},\"x-unknown\":{\"kept\":true}}";
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, string json)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}
