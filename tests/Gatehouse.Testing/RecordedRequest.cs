namespace Gatehouse.Testing;

/// <summary>
/// One HTTP request exactly as it reached a <see cref="TestUpstream"/>, recorded before any authentication,
/// DNS-rebinding or MCP handling so tests can assert on what a gateway forwarded (and what it stripped).
/// </summary>
/// <param name="Method">The HTTP method, e.g. <c>POST</c>.</param>
/// <param name="Path">The request path, e.g. <c>/mcp</c>.</param>
/// <param name="QueryString">The raw query string including the leading <c>?</c>, or empty.</param>
/// <param name="Headers">Every header as received, one entry per value, in arrival order.</param>
/// <param name="Body">The request body decoded as UTF-8, or <see langword="null"/> when there was none.</param>
/// <param name="ReceivedAt">When the request arrived.</param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string QueryString,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? Body,
    DateTimeOffset ReceivedAt)
{
    /// <summary>Whether a header with this name (case-insensitive) arrived.</summary>
    public bool HasHeader(string name) => Headers.Any(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>All values of the header with this name (case-insensitive), possibly empty.</summary>
    public IReadOnlyList<string> GetHeaderValues(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToArray();

    /// <summary>The first value of the header with this name, or <see langword="null"/> when it did not arrive.</summary>
    public string? GetHeader(string name) => GetHeaderValues(name) is [var first, ..] ? first : null;
}
