namespace Gatehouse.Testing;

/// <summary>
/// The transport era a <see cref="TestUpstream"/> speaks. Each value is a real MCP server built with the
/// official C# SDK, so gateway tests exercise the same wire behaviour a production upstream would show.
/// </summary>
public enum UpstreamMode
{
    /// <summary>
    /// Streamable HTTP at <c>/mcp</c> with sessions for initialize-handshake clients (2025-03-26 .. 2025-11-25),
    /// 2026-07-28 clients served statelessly on the same endpoint, and an in-memory event store so
    /// <c>Last-Event-ID</c> resumption works.
    /// </summary>
    StreamableStateful,

    /// <summary>
    /// Streamable HTTP at <c>/mcp</c> without any session state (the 2026-07-28 style). GET and DELETE are not
    /// mapped, and server-to-client requests are only possible through MRTR (input-required results).
    /// </summary>
    Stateless,

    /// <summary>
    /// The 2024-11-05 HTTP+SSE transport only: <c>GET /sse</c> opens the stream, <c>POST /message</c> carries
    /// client messages. There is no streamable endpoint.
    /// </summary>
    LegacySse,

    /// <summary>
    /// The fixture for the <c>@modelcontextprotocol/conformance</c> server scenarios: stateful streamable HTTP at
    /// <c>/mcp</c> with an event store, the scenario tools, resources and prompts, and DNS-rebinding protection.
    /// </summary>
    Conformance,

    /// <summary>
    /// Stateless Streamable HTTP at <c>/mcp</c> that only answers requests bearing a JWT access token from
    /// <see cref="UpstreamOAuthOptions.Issuer"/> whose signature, issuer, lifetime and audience (this upstream's
    /// <c>/mcp</c> URL) are valid; everything else gets 401 with a <c>resource_metadata</c> challenge. It serves
    /// RFC 9728 metadata at <c>/.well-known/oauth-protected-resource/mcp</c>, adds the <c>whoami</c> tool, and
    /// counts tokens in <see cref="TestUpstream.AuthStats"/>. Needs <see cref="TestUpstreamOptions.OAuth"/>.
    /// </summary>
    OAuthProtected,
}
