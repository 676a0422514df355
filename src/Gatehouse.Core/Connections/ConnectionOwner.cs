namespace Gatehouse.Core.Connections;

/// <summary>Whose upstream account a stored connection represents.</summary>
public enum ConnectionOwnerKind
{
    /// <summary>One connection for the whole server, made by an admin and used by every grant (a service account).</summary>
    Server,

    /// <summary>One person's own upstream account (per-user servers).</summary>
    User,
}

/// <summary>The owner half of a connection's key: upstream tokens are keyed by (owner, server), never by server alone.</summary>
/// <param name="Kind">Shared (server) or personal (user).</param>
/// <param name="Id">The server id for shared connections; the user id for personal ones.</param>
public readonly record struct ConnectionOwner(ConnectionOwnerKind Kind, string Id)
{
    /// <summary>The shared connection of <paramref name="serverId"/>.</summary>
    public static ConnectionOwner Shared(Guid serverId) => new(ConnectionOwnerKind.Server, serverId.ToString("N"));

    /// <summary>The stored spelling of <see cref="Kind"/>.</summary>
    public string KindName => Kind == ConnectionOwnerKind.Server ? "server" : "user";

    /// <summary>Parses <see cref="KindName"/>.</summary>
    public static ConnectionOwnerKind ParseKind(string value) =>
        value == "user" ? ConnectionOwnerKind.User : ConnectionOwnerKind.Server;

    /// <inheritdoc />
    public override string ToString() => $"{KindName}:{Id}";
}
