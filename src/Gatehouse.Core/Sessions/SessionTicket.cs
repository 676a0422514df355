namespace Gatehouse.Core.Sessions;

/// <summary>What a session id handed to a client stands for.</summary>
/// <remarks>
/// Gatehouse keeps no session table: the id it gives the client is this ticket, sealed with AES-256-GCM, so any
/// replica that holds the same master key can serve the session, and the client can neither read nor forge it.
/// </remarks>
/// <param name="Kind">Which transport the ticket belongs to.</param>
/// <param name="ServerId">The server the session was opened on.</param>
/// <param name="PrincipalId">Who opened it (e.g. <c>grant:{id}</c>); another principal presenting it is refused.</param>
/// <param name="Upstream">The upstream's own session id (Streamable HTTP) or message endpoint URL (HTTP+SSE).</param>
/// <param name="IssuedAt">When Gatehouse issued the ticket; tickets older than the configured lifetime are refused.</param>
public sealed record SessionTicket(SessionKind Kind, Guid ServerId, string PrincipalId, string Upstream, DateTimeOffset IssuedAt);

/// <summary>The transport a <see cref="SessionTicket"/> belongs to.</summary>
public enum SessionKind : byte
{
    /// <summary>A Streamable HTTP session: <see cref="SessionTicket.Upstream"/> is the upstream's Mcp-Session-Id.</summary>
    StreamableHttp = 1,

    /// <summary>An HTTP+SSE (2024-11-05) session: <see cref="SessionTicket.Upstream"/> is the upstream's message endpoint.</summary>
    LegacySseEndpoint = 2,

    /// <summary>A session bridged inside this replica to an upstream of another transport: <see cref="SessionTicket.Upstream"/> is the bridge id.</summary>
    Bridged = 3,
}
