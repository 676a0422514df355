using System.Text;

namespace Gatehouse.Proxy.Protocol;

/// <summary>Protocol revisions and header rules of the MCP transports Gatehouse serves.</summary>
public static class McpProtocol
{
    /// <summary>Header names.</summary>
    public const string SessionIdHeader = "Mcp-Session-Id";

    /// <summary>Negotiated protocol version header (2025-06-18 and later).</summary>
    public const string ProtocolVersionHeader = "MCP-Protocol-Version";

    /// <summary>2026-07-28: the method, mirrored from the body.</summary>
    public const string MethodHeader = "Mcp-Method";

    /// <summary>2026-07-28: the tool/prompt name or resource URI, mirrored from the body.</summary>
    public const string NameHeader = "Mcp-Name";

    /// <summary>SSE resumption.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>The revision assumed when the header is absent (per the 2025-06-18 transport rules).</summary>
    public const string DefaultVersion = "2025-03-26";

    /// <summary>The stateless revision: no sessions, no initialize, standard request headers.</summary>
    public const string Stateless2026 = "2026-07-28";

    /// <summary>True when the value looks like a protocol revision (a date, YYYY-MM-DD).</summary>
    /// <remarks>Unknown but well-formed revisions are forwarded: the upstream negotiates versions, not the gateway.</remarks>
    public static bool IsWellFormedVersion(string value) =>
        value.Length == 10 && value[4] == '-' && value[7] == '-'
        && value.AsSpan(0, 4).ContainsAnyExceptInRange('0', '9') is false
        && value.AsSpan(5, 2).ContainsAnyExceptInRange('0', '9') is false
        && value.AsSpan(8, 2).ContainsAnyExceptInRange('0', '9') is false;

    /// <summary>True for 2026-07-28 and later: stateless, per-request headers required.</summary>
    public static bool IsStatelessEra(string version) => string.CompareOrdinal(version, Stateless2026) >= 0;

    /// <summary>Batches were allowed only in 2025-03-26 (and by 2024-11-05 servers).</summary>
    public static bool AllowsBatches(string version) => string.CompareOrdinal(version, "2025-03-26") <= 0;

    /// <summary>Methods whose target must be mirrored in <see cref="NameHeader"/>.</summary>
    public static bool RequiresNameHeader(string? method) => method is "tools/call" or "resources/read" or "prompts/get";

    /// <summary>Decodes a header value that may use the <c>=?base64?…?=</c> form for non-ASCII text.</summary>
    public static bool TryDecodeHeaderValue(string value, out string decoded)
    {
        const string prefix = "=?base64?";
        if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && value.EndsWith("?=", StringComparison.Ordinal))
        {
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value[prefix.Length..^2]));
                return true;
            }
            catch (FormatException)
            {
                decoded = "";
                return false;
            }
        }

        decoded = value;
        return true;
    }
}
