using System.Collections.Frozen;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>Which headers cross the gateway, in each direction.</summary>
/// <remarks>
/// Everything not listed here crosses unchanged, so headers Gatehouse does not know (for example the
/// 2026-07-28 <c>Mcp-Param-*</c> headers) reach the upstream as the transport requires of intermediaries.
/// </remarks>
public static class UpstreamHeaders
{
    /// <summary>Never forwarded upstream: the client's credentials, hop-by-hop headers, and headers Gatehouse sets itself.</summary>
    private static readonly FrozenSet<string> RequestDenyList = new[]
    {
        "Authorization", "Cookie", "Proxy-Authorization", "Host", "Connection", "Keep-Alive", "Proxy-Connection",
        "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Content-Length", "Expect",
        // Gatehouse itself is the caller upstream, so the browser's Origin and Referer do not apply there.
        "Origin", "Referer",
        // Responses are relayed and sometimes inspected, so ask for them uncompressed.
        "Accept-Encoding",
        // Replaced by the upstream's own session id.
        "Mcp-Session-Id",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

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

    /// <summary>Copies the client's headers onto the upstream request.</summary>
    public static void CopyRequestHeaders(HttpRequest source, HttpRequestMessage target)
    {
        foreach (var (name, values) in source.Headers)
        {
            if (RequestDenyList.Contains(name))
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
