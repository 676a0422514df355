using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Testing.Hosting;

/// <summary>
/// The HTTP pipeline pieces that sit in front of the MCP endpoints: recording, DNS-rebinding protection,
/// the required-header check and, for the legacy mode, hiding the streamable endpoint.
/// </summary>
internal static class UpstreamMiddleware
{
    private static readonly string[] LocalHostNames = ["localhost", "127.0.0.1", "[::1]", "::1"];

    /// <summary>Records the request, including its body, then lets it continue untouched.</summary>
    public static async Task RecordAsync(HttpContext context, RequestLog log, int maxBodyBytes, Func<Task> next)
    {
        var request = context.Request;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in request.Headers)
        {
            foreach (var value in header.Value)
            {
                headers.Add(new(header.Key, value ?? string.Empty));
            }
        }

        string? body = null;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            // Buffering lets the MCP handler read the same bytes again after we looked at them.
            request.EnableBuffering();
            body = await ReadPrefixAsync(request.Body, maxBodyBytes, context.RequestAborted).ConfigureAwait(false);
            request.Body.Position = 0;
        }

        log.Add(new RecordedRequest(
            request.Method,
            request.Path.Value ?? string.Empty,
            request.QueryString.Value ?? string.Empty,
            headers,
            body,
            DateTimeOffset.UtcNow));

        await next().ConfigureAwait(false);
    }

    /// <summary>
    /// Rejects requests whose Host or Origin names anything but the loopback host: a server listening on
    /// localhost must not be reachable from a web page through a rebound DNS name.
    /// </summary>
    public static Task GuardLocalhostAsync(HttpContext context, Func<Task> next)
    {
        var hostOk = IsLocalHostName(context.Request.Host.Host);
        var origin = context.Request.Headers.Origin.ToString();
        var originOk = origin.Length == 0
            || (Uri.TryCreate(origin, UriKind.Absolute, out var originUri) && IsLocalHostName(originUri.Host));

        if (hostOk && originOk)
        {
            return next();
        }

        return WriteJsonRpcErrorAsync(context, StatusCodes.Status403Forbidden, "Forbidden: non-localhost Host or Origin header.");
    }

    /// <summary>Answers 401 unless the configured header arrived with exactly the configured value.</summary>
    public static Task RequireHeaderAsync(HttpContext context, (string Name, string Value) required, Func<Task> next)
    {
        var values = context.Request.Headers[required.Name];
        if (values.Count == 1 && string.Equals(values[0], required.Value, StringComparison.Ordinal))
        {
            return next();
        }

        return WriteJsonRpcErrorAsync(context, StatusCodes.Status401Unauthorized, $"Unauthorized: missing or wrong {required.Name} header.");
    }

    /// <summary>
    /// A 2024-11-05 server only knows /sse and /message. The SDK maps the streamable endpoint alongside them,
    /// so we hide it: a modern client's POST then fails with 4xx and it falls back to GET /sse as the
    /// 2025-03-26 backwards-compatibility rules prescribe.
    /// </summary>
    public static Task LegacyOnlyAsync(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/sse") || path.StartsWithSegments("/message") || path.StartsWithSegments("/raw"))
        {
            return next();
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static bool IsLocalHostName(string? host) =>
        host is not null && LocalHostNames.Contains(host, StringComparer.OrdinalIgnoreCase);

    /// <summary>Writes a JSON-RPC error envelope with a null id and the given HTTP status.</summary>
    public static async Task WriteJsonRpcErrorAsync(HttpContext context, int statusCode, string message)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        var escaped = System.Text.Json.JsonEncodedText.Encode(message).ToString();
        await context.Response.WriteAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,\"message\":\"" + escaped + "\"}}",
            context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<string> ReadPrefixAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        // Grow with the body instead of allocating the cap up front: most MCP messages are a few hundred bytes.
        using var copy = new MemoryStream();
        var chunk = new byte[8192];
        while (copy.Length < maxBytes)
        {
            var wanted = (int)Math.Min(chunk.Length, maxBytes - copy.Length);
            var read = await body.ReadAsync(chunk.AsMemory(0, wanted), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            copy.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(copy.GetBuffer(), 0, (int)copy.Length);
    }
}
