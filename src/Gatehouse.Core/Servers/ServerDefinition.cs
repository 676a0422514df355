namespace Gatehouse.Core.Servers;

/// <summary>How Gatehouse talks to an upstream MCP server.</summary>
public enum UpstreamTransport
{
    /// <summary>Try Streamable HTTP first; fall back to the 2024-11-05 HTTP+SSE transport when the upstream refuses it.</summary>
    Auto,

    /// <summary>Streamable HTTP (2025-03-26 and later, including the stateless 2026-07-28 revision).</summary>
    StreamableHttp,

    /// <summary>The deprecated 2024-11-05 HTTP+SSE transport: a GET stream plus a POST endpoint announced on it.</summary>
    Sse,
}

/// <summary>How Gatehouse authenticates itself to an upstream MCP server.</summary>
public enum UpstreamAuthMode
{
    /// <summary>No credential is sent upstream.</summary>
    None,

    /// <summary>Static headers (for example an API key) stored encrypted and injected on every upstream request.</summary>
    Headers,

    /// <summary>OAuth 2.1: Gatehouse connects once, keeps the tokens in its vault and refreshes them at the boundary.</summary>
    OAuth,
}

/// <summary>One header Gatehouse injects on upstream requests; the value stays encrypted until the request is built.</summary>
/// <param name="Name">The HTTP header name.</param>
/// <param name="ProtectedValue">The value, sealed by the vault (<see cref="Security.ISecretProtector"/>).</param>
public sealed record UpstreamHeader(string Name, string ProtectedValue);

/// <summary>An upstream MCP endpoint that clients reach at <c>/mcp/{Name}</c>.</summary>
public sealed record ServerDefinition
{
    /// <summary>Stable identifier; survives renames of nothing (names are immutable) and binds sessions.</summary>
    public required Guid Id { get; init; }

    /// <summary>The slug clients use in the URL path.</summary>
    public required string Name { get; init; }

    /// <summary>The upstream URL: the Streamable HTTP endpoint, or the SSE endpoint for <see cref="UpstreamTransport.Sse"/>.</summary>
    public required Uri Url { get; init; }

    /// <summary>Transport used toward the upstream.</summary>
    public UpstreamTransport Transport { get; init; } = UpstreamTransport.Auto;

    /// <summary>How Gatehouse authenticates upstream.</summary>
    public UpstreamAuthMode AuthMode { get; init; } = UpstreamAuthMode.None;

    /// <summary>Headers injected upstream when <see cref="AuthMode"/> is <see cref="UpstreamAuthMode.Headers"/>.</summary>
    public IReadOnlyList<UpstreamHeader> Headers { get; init; } = [];

    /// <summary>OAuth settings when <see cref="AuthMode"/> is <see cref="UpstreamAuthMode.OAuth"/>.</summary>
    public UpstreamOAuthSettings? OAuth { get; init; }

    /// <summary>
    /// True sends the client's identity headers (<c>Forwarded</c>, <c>X-Forwarded-*</c>, <c>X-Real-IP</c>, …) upstream as
    /// received; by default they are dropped like every header outside the allow-list.
    /// </summary>
    public bool ForwardIdentityHeaders { get; init; }

    /// <summary>A disabled server refuses every request but keeps its configuration.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The name of the policy attached to the server (its default for every grant), if any.</summary>
    public string? PolicyName { get; init; }

    /// <summary>When the server was registered.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}
