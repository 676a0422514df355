using Gatehouse.Core.Servers;

namespace Gatehouse.Core.Connections;

/// <summary>
/// Revokes, at the authorization server, every upstream token stored for a server (its shared connection and every
/// person's): what a server update that moves the server to a new address (or away from OAuth) does before the
/// connections are deleted, so credentials never follow a server to an address they were not issued for.
/// </summary>
public interface IServerCredentialRevoker
{
    /// <summary>Revokes (RFC 7009, where advertised) without deleting; returns what happened, for the audit entry (never a token).</summary>
    /// <param name="server">The server as it was before the change (its old address and OAuth settings).</param>
    /// <param name="ct">Cancellation.</param>
    Task<string> RevokeAllAsync(ServerDefinition server, CancellationToken ct);
}
