using System.Collections.Frozen;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>Which headers cross the gateway, in each direction.</summary>
/// <remarks>
/// Toward the upstream only an allow-list crosses: the MCP transport's own headers (including every 2026-07-28
/// <c>Mcp-Param-*</c> header, which intermediaries must forward), content type, accept and user agent. A header the
/// client made up (<c>X-Internal-Admin</c>, <c>X-Original-URL</c>, a second API key) could steer an upstream that trusts
/// its network, so it stays here. Identity headers (<c>Forwarded</c>, <c>X-Forwarded-*</c>, <c>X-Real-IP</c>, …) cross
/// only for a server configured with <c>forward-identity-headers</c>, as the client sent them. Back toward the client
/// everything crosses except the deny-list below.
/// </remarks>
public static class UpstreamHeaders
{
    /// <summary>Forwarded upstream as the client sent them. <c>Mcp-Session-Id</c> is not: Gatehouse puts the upstream's own.</summary>
    private static readonly FrozenSet<string> RequestAllowList = new[]
    {
        "Content-Type", "Accept", "User-Agent",
        "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Last-Event-ID",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private const string McpParamPrefix = "Mcp-Param-";

    /// <summary>Forwarded only to servers configured for them: they say who the client is, which an upstream may trust.</summary>
    private static readonly FrozenSet<string> IdentityHeaders = new[]
    {
        "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private const string ForwardedPrefix = "X-Forwarded-";

    /// <summary>True when a client's header <paramref name="name"/> goes upstream.</summary>
    /// <param name="name">The header name.</param>
    /// <param name="forwardIdentityHeaders">The server's <c>forward-identity-headers</c> setting.</param>
    public static bool IsForwarded(string name, bool forwardIdentityHeaders) =>
        RequestAllowList.Contains(name)
        || name.StartsWith(McpParamPrefix, StringComparison.OrdinalIgnoreCase)
        || (forwardIdentityHeaders && (IdentityHeaders.Contains(name) || name.StartsWith(ForwardedPrefix, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Never relayed back to the client.</summary>
    private static readonly FrozenSet<string> ResponseDenyList = new[]
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Content-Length",
        // Upstream cookies and auth challenges are between Gatehouse and the upstream.
        "Set-Cookie", "WWW-Authenticate", "Proxy-Authenticate",
        // Rewritten to Gatehouse's own session id.
        "Mcp-Session-Id",
        // Kestrel sets its own.
        "Server", "Date",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Copies the client's allow-listed headers onto the upstream request.</summary>
    /// <param name="source">The client's request.</param>
    /// <param name="target">The upstream request.</param>
    /// <param name="forwardIdentityHeaders">The server's <c>forward-identity-headers</c> setting.</param>
    public static void CopyRequestHeaders(HttpRequest source, HttpRequestMessage target, bool forwardIdentityHeaders = false)
    {
        foreach (var (name, values) in source.Headers)
        {
            if (!IsForwarded(name, forwardIdentityHeaders))
            {
                continue;
            }

            // Almost every header has one value: passing it as a string skips boxing the StringValues and enumerating it.
            if (values.Count == 1)
            {
                var value = values[0];
                if (!target.Headers.TryAddWithoutValidation(name, value))
                {
                    target.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }
            else if (!target.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                target.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
    }

    /// <summary>Copies the upstream's headers onto the client response.</summary>
    public static void CopyResponseHeaders(HttpResponseMessage source, HttpResponse target)
    {
        Copy(source.Headers, target);
        Copy(source.Content.Headers, target);
    }

    private static void Copy(HttpHeaders headers, HttpResponse target)
    {
        foreach (var (name, values) in headers.NonValidated)
        {
            if (!ResponseDenyList.Contains(name))
            {
                // For a single value ToString() is that value itself, with no array or enumerator to allocate.
                target.Headers[name] = values.Count == 1 ? values.ToString() : values.ToArray();
            }
        }
    }
}
