namespace Gatehouse.Core.Connections;

/// <summary>Where an upstream OAuth connection stands; shown by <c>server list</c>/<c>show</c> and acted on by the proxy.</summary>
public enum ConnectionStatus
{
    /// <summary>No authorization has completed yet (or it was removed).</summary>
    NotConnected,

    /// <summary>Tokens are stored and (as far as Gatehouse knows) valid or refreshable.</summary>
    Connected,

    /// <summary>The authorization server refused the refresh token (<c>invalid_grant</c>) or more scope is needed: a person must connect again.</summary>
    NeedsReauth,

    /// <summary>Disconnected by an admin or offboarding; tokens were revoked at the provider and deleted.</summary>
    Revoked,
}

/// <summary>Stored and printed spellings of <see cref="ConnectionStatus"/>.</summary>
public static class ConnectionStatusNames
{
    /// <summary>The snake_case name (<c>connected</c>, <c>needs_reauth</c>, …).</summary>
    public static string ToName(this ConnectionStatus status) => status switch
    {
        ConnectionStatus.Connected => "connected",
        ConnectionStatus.NeedsReauth => "needs_reauth",
        ConnectionStatus.Revoked => "revoked",
        _ => "not_connected",
    };

    /// <summary>Parses <see cref="ToName"/>.</summary>
    public static ConnectionStatus Parse(string? name) => name switch
    {
        "connected" => ConnectionStatus.Connected,
        "needs_reauth" => ConnectionStatus.NeedsReauth,
        "revoked" => ConnectionStatus.Revoked,
        _ => ConnectionStatus.NotConnected,
    };
}
