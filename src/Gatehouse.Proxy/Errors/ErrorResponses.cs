using System.Text;
using System.Text.Json;
using Gatehouse.Core.Errors;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Errors;

/// <summary>Writes a <see cref="GatewayError"/> as a JSON-RPC error response.</summary>
public static class ErrorResponses
{
    // Messages are plain text meant for people; relaxed escaping keeps quotes and angle brackets readable.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Builds the JSON-RPC error body.</summary>
    public static byte[] Body(GatewayError error, string? rawId, string? server)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WritePropertyName("id");
            if (rawId is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteRawValue(rawId, skipInputValidation: true);
            }

            writer.WriteStartObject("error");
            writer.WriteNumber("code", error.JsonRpcCode);
            writer.WriteString("message", error.Message);
            writer.WriteStartObject("data");
            writer.WriteString("gatehouseError", error.Code);
            if (server is not null)
            {
                writer.WriteString("server", server);
            }

            if (error.ConnectUrl is not null)
            {
                writer.WriteString("connectUrl", error.ConnectUrl);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Writes the error as the whole HTTP response.</summary>
    public static Task WriteAsync(HttpContext context, GatewayError error, string? rawId, string? server)
    {
        var response = context.Response;
        response.StatusCode = error.HttpStatus;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        var body = Body(error, rawId, server);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>Writes the error as one SSE event (for a stream that already started).</summary>
    public static byte[] AsSseEvent(GatewayError error, string? rawId, string? server)
    {
        var json = Encoding.UTF8.GetString(Body(error, rawId, server));
        return Encoding.UTF8.GetBytes($"event: message\ndata: {json}\n\n");
    }
}
