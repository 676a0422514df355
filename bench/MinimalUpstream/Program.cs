// A minimal, stateless MCP server used only as the benchmark upstream.
//
// It answers POST /mcp JSON-RPC requests with fixed, pre-encoded bytes. The only per-request work is
// one forward-only scan of the request body to find the top-level "id" and "method" members, so the
// upstream stays as far from being the bottleneck as an ASP.NET Core app can be.
//
// Usage: MinimalUpstream PORT        (PORT 0 picks a free port; the chosen one is printed)

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

if (args.Length != 1 || !int.TryParse(args[0], out var port) || port is < 0 or > 65535)
{
    await Console.Error.WriteLineAsync("usage: MinimalUpstream PORT").ConfigureAwait(false);
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(IPAddress.Loopback, port);
});

var app = builder.Build();
app.Run(McpHandler.HandleAsync);

await app.StartAsync().ConfigureAwait(false);
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
    ?? $"http://127.0.0.1:{port}";
Console.WriteLine($"listening on {address.TrimEnd('/')}/mcp");
await app.WaitForShutdownAsync().ConfigureAwait(false);
return 0;

/// <summary>The whole server: one terminal request delegate, no routing, no MVC, no JSON serializer.</summary>
internal static class McpHandler
{
    private static readonly byte[] ResultPrefix = """{"jsonrpc":"2.0","id":"""u8.ToArray();

    private static readonly byte[] ToolsCallSuffix =
        ""","result":{"content":[{"type":"text","text":"ok"}]}}"""u8.ToArray();

    private static readonly byte[] ToolsListSuffix =
        ""","result":{"tools":[{"name":"echo","description":"Answers ok.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]}}"""u8.ToArray();

    private static readonly byte[] InitializeSuffixBeforeVersion = ""","result":{"protocolVersion":"""u8.ToArray();

    private static readonly byte[] InitializeSuffixAfterVersion =
        ""","capabilities":{"tools":{}},"serverInfo":{"name":"bench-minimal-upstream","version":"1.0.0"}}}"""u8.ToArray();

    private static readonly byte[] DefaultProtocolVersion = "2025-06-18"u8.ToArray();

    private static readonly byte[] EmptyResultSuffix = ""","result":{}}"""u8.ToArray();

    private static readonly byte[] MethodNotFoundSuffix =
        ""","error":{"code":-32601,"message":"Method not found"}}"""u8.ToArray();

    private static readonly byte[] ParseError =
        """{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"""u8.ToArray();

    private static readonly byte[] Quote = "\""u8.ToArray();

    public static async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;

        if (!request.Path.Equals("/mcp", StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            // Stateless server: no SSE stream on GET, no session to DELETE.
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return;
        }

        var reader = request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (read.IsCompleted || read.IsCanceled)
            {
                break;
            }

            // Keep everything buffered until the whole (small) body has arrived.
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }

        try
        {
            Respond(read.Buffer, response);
        }
        finally
        {
            reader.AdvanceTo(read.Buffer.End);
        }
    }

    /// <summary>Scans the body once and writes the whole response into the response pipe.</summary>
    private static void Respond(ReadOnlySequence<byte> body, HttpResponse response)
    {
        ReadOnlySpan<byte> id = default;
        var idIsString = false;
        var hasId = false;
        ReadOnlySpan<byte> protocolVersion = default;
        var method = Method.Missing;

        try
        {
            var json = new Utf8JsonReader(body);
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("not an object");
            }

            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                if (json.ValueTextEquals("id"u8))
                {
                    json.Read();
                    if (json.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        hasId = true;
                        idIsString = json.TokenType == JsonTokenType.String;
                        id = json.HasValueSequence ? json.ValueSequence.ToArray() : json.ValueSpan;
                    }
                    else
                    {
                        json.Skip();
                    }
                }
                else if (json.ValueTextEquals("method"u8))
                {
                    json.Read();
                    method = json.ValueTextEquals("tools/call"u8) ? Method.ToolsCall
                        : json.ValueTextEquals("tools/list"u8) ? Method.ToolsList
                        : json.ValueTextEquals("initialize"u8) ? Method.Initialize
                        : json.ValueTextEquals("ping"u8) ? Method.Ping
                        : Method.Other;
                }
                else if (json.ValueTextEquals("params"u8))
                {
                    json.Read();
                    if (json.TokenType != JsonTokenType.StartObject)
                    {
                        json.Skip();
                        continue;
                    }

                    // Only initialize's params.protocolVersion is ever used; everything else is skipped.
                    while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
                    {
                        var isVersion = json.ValueTextEquals("protocolVersion"u8);
                        json.Read();
                        if (isVersion && json.TokenType == JsonTokenType.String && !json.HasValueSequence)
                        {
                            protocolVersion = json.ValueSpan;
                        }
                        else
                        {
                            json.Skip();
                        }
                    }
                }
                else
                {
                    json.Read();
                    json.Skip();
                }
            }
        }
        catch (JsonException)
        {
            Write(response, StatusCodes.Status400BadRequest, ParseError, default, false, default);
            return;
        }

        if (!hasId)
        {
            // A notification (or a response): accepted, nothing to say.
            response.StatusCode = StatusCodes.Status202Accepted;
            response.ContentLength = 0;
            return;
        }

        switch (method)
        {
            case Method.ToolsCall:
                Write(response, StatusCodes.Status200OK, id, ToolsCallSuffix, idIsString, default);
                break;
            case Method.ToolsList:
                Write(response, StatusCodes.Status200OK, id, ToolsListSuffix, idIsString, default);
                break;
            case Method.Ping:
                Write(response, StatusCodes.Status200OK, id, EmptyResultSuffix, idIsString, default);
                break;
            case Method.Initialize:
                Write(response, StatusCodes.Status200OK, id, InitializeSuffixAfterVersion, idIsString,
                    protocolVersion.IsEmpty ? DefaultProtocolVersion : protocolVersion);
                break;
            default:
                Write(response, StatusCodes.Status200OK, id, MethodNotFoundSuffix, idIsString, default);
                break;
        }
    }

    /// <summary>
    /// Writes a complete JSON body. With <paramref name="suffix"/> empty, <paramref name="idOrBody"/> is the whole body;
    /// otherwise the body is prefix + id + [initialize's "protocolVersion" part] + suffix.
    /// </summary>
    private static void Write(
        HttpResponse response,
        int status,
        ReadOnlySpan<byte> idOrBody,
        ReadOnlySpan<byte> suffix,
        bool idIsString,
        ReadOnlySpan<byte> initializeVersion)
    {
        var whole = suffix.IsEmpty;
        var length = whole
            ? idOrBody.Length
            : ResultPrefix.Length + idOrBody.Length + (idIsString ? 2 : 0) + suffix.Length
              + (initializeVersion.IsEmpty
                  ? 0
                  : InitializeSuffixBeforeVersion.Length + initializeVersion.Length + 2);

        // All headers are set before the first byte goes into the pipe.
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = length;

        var writer = response.BodyWriter;
        if (whole)
        {
            writer.Write(idOrBody);
            return;
        }

        writer.Write(ResultPrefix);
        if (idIsString)
        {
            writer.Write(Quote);
        }

        writer.Write(idOrBody);
        if (idIsString)
        {
            writer.Write(Quote);
        }

        if (!initializeVersion.IsEmpty)
        {
            // The version is the raw (still escaped) string content, so it goes back between quotes.
            writer.Write(InitializeSuffixBeforeVersion);
            writer.Write(Quote);
            writer.Write(initializeVersion);
            writer.Write(Quote);
        }

        writer.Write(suffix);
    }

    private enum Method
    {
        Missing,
        ToolsCall,
        ToolsList,
        Initialize,
        Ping,
        Other,
    }
}
