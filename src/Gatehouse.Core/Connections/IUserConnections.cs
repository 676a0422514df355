namespace Gatehouse.Core.Connections;

/// <summary>A person's own connection to one per-user server, as their account page shows it.</summary>
/// <param name="Server">The server.</param>
/// <param name="Status">Connection status (<c>connected</c>, <c>needs_reauth</c>, <c>revoked</c>, <c>not_connected</c>).</param>
/// <param name="Issuer">The upstream authorization server, once connected.</param>
/// <param name="Scopes">Granted scopes.</param>
/// <param name="ExpiresAt">When the stored access token expires (Gatehouse refreshes it).</param>
/// <param name="ConnectUrl">Where the person connects (or reconnects) their account; null when Gatehouse does not know its public URL.</param>
public sealed record UserConnectionView(string Server, string Status, string? Issuer, string? Scopes, DateTimeOffset? ExpiresAt, string? ConnectUrl);

/// <summary>A person's own upstream connections (per-user servers): what they can see and cut themselves.</summary>
public interface IUserConnections
{
    /// <summary>Every per-user server with the user's connection status to it.</summary>
    Task<IReadOnlyList<UserConnectionView>> ListAsync(string userId, CancellationToken ct);

    /// <summary>
    /// Revokes the user's tokens for <paramref name="server"/> at the provider (RFC 7009) and deletes them; false when
    /// there was nothing stored.
    /// </summary>
    Task<bool> DisconnectAsync(string server, string userId, string actor, CancellationToken ct);
}
