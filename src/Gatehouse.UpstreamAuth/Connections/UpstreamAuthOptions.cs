namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>Tuning of the upstream OAuth client; the defaults suit production.</summary>
public sealed class UpstreamAuthOptions
{
    /// <summary>Refresh this long before the access token expires (proactive refresh), so a request never carries an expiring token.</summary>
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a started authorization (its <c>state</c>) can be completed.</summary>
    public TimeSpan FlowLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Authorizations allowed for one scope problem (the first one included) before Gatehouse stops asking.</summary>
    public int MaxScopeAuthorizations { get; set; } = 3;

    /// <summary>Attempts at a token request when the authorization server is unreachable or answers 5xx/429.</summary>
    public int TokenRequestAttempts { get; set; } = 3;

    /// <summary>First back-off between those attempts (doubles each time, with jitter).</summary>
    public TimeSpan TokenRequestBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a replica may hold a connection's refresh lease before another may take over.</summary>
    public TimeSpan RefreshLeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a request waits for a refresh another replica is running.</summary>
    public TimeSpan RefreshWaitLimit { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The client name Gatehouse registers with.</summary>
    public string ClientName { get; set; } = "Gatehouse MCP gateway";
}
