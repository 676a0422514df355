using Gatehouse.Core.Connections;
using Gatehouse.UpstreamAuth.Protocol;

namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>What a stored connection looks like to the refresh decision: no secrets, only facts.</summary>
/// <param name="Status">The connection's status.</param>
/// <param name="HasAccessToken">Whether an access token is stored.</param>
/// <param name="ExpiresAt">When the access token expires (null: the server did not say, so it is used until refused).</param>
/// <param name="ObtainedAt">When that access token was obtained (null: unknown).</param>
/// <param name="Version">The row's version (grows with every token change).</param>
public readonly record struct StoredToken(ConnectionStatus Status, bool HasAccessToken, DateTimeOffset? ExpiresAt, DateTimeOffset? ObtainedAt, long Version);

/// <summary>What to do with a connection's token now.</summary>
public enum RefreshAction
{
    /// <summary>Hand out the stored access token.</summary>
    UseStored,

    /// <summary>Refresh (or, for client credentials, request a new token) before handing one out.</summary>
    RefreshNow,

    /// <summary>Nothing can be handed out: the connection is not connected (the status says which error).</summary>
    GiveUp,
}

/// <summary>What to do after a 403 <c>insufficient_scope</c>.</summary>
/// <param name="Action">
/// <see cref="StepUpAction.UseStored"/> (the refused token is already stale), <see cref="StepUpAction.RequestNow"/>
/// (client credentials: ask for <paramref name="WantedScopes"/> at once), <see cref="StepUpAction.AskPerson"/> (a new
/// authorization with those scopes) or <see cref="StepUpAction.GiveUp"/> (the bound is reached).
/// </param>
/// <param name="WantedScopes">The union of granted, pending and challenged scopes.</param>
/// <param name="Attempts">The step-up count to store.</param>
/// <param name="CountedVersion">The token generation that count last counted.</param>
public readonly record struct StepUpVerdict(StepUpAction Action, string WantedScopes, int Attempts, long CountedVersion);

/// <summary>The outcomes of <see cref="RefreshDecision.AfterInsufficientScope"/>.</summary>
public enum StepUpAction
{
    /// <summary>Another refresh or connect replaced the refused token: retry with the current one.</summary>
    UseStored,

    /// <summary>Request a token with the wanted scopes now (no person needed).</summary>
    RequestNow,

    /// <summary>A person must authorize the wanted scopes (GH1704).</summary>
    AskPerson,

    /// <summary>Authorizations for these scopes were tried the maximum number of times (GH1705).</summary>
    GiveUp,
}

/// <summary>What to do after one token request of a refresh failed.</summary>
public enum FailedAttemptAction
{
    /// <summary>Try again after the back-off: the request cannot have used up anything.</summary>
    Retry,

    /// <summary>
    /// The request may have reached the authorization server, which may have used up (rotated) the refresh token: never
    /// send it again; read the stored row, which another replica may have updated with the rotated token.
    /// </summary>
    RereadStored,

    /// <summary>Stop: report the failure.</summary>
    Stop,
}

/// <summary>
/// The one place where Gatehouse decides what an upstream token needs: fresh, refresh now, step up, or give up, for a
/// request, after an upstream 401, after a 403 <c>insufficient_scope</c>, and after a failed token request. Pure: facts
/// and a clock reading in, a decision out; <see cref="UpstreamTokenBroker"/> carries the decisions out.
/// </summary>
public static class RefreshDecision
{
    /// <summary>The share of a token's own lifetime the refresh margin may take at most.</summary>
    /// <remarks>
    /// A margin longer than the token's lifetime would refresh on every request (a 30 s token with the 60 s default
    /// did); a quarter of the lifetime refreshes each token once, three quarters into its life, however short it is.
    /// </remarks>
    public const double MaxMarginShareOfLifetime = 0.25;

    /// <summary>The margin for one token: the configured one, bounded by a quarter of the token's lifetime when that is known.</summary>
    public static TimeSpan EffectiveMargin(TimeSpan configured, DateTimeOffset? obtainedAt, DateTimeOffset? expiresAt)
    {
        if (obtainedAt is not { } obtained || expiresAt is not { } expires || expires <= obtained)
        {
            return configured;
        }

        var bound = (expires - obtained) * MaxMarginShareOfLifetime;
        return bound < configured ? bound : configured;
    }

    /// <summary>Whether the stored access token can be handed out at <paramref name="now"/> without refreshing first.</summary>
    public static bool IsFresh(StoredToken token, TimeSpan configuredMargin, DateTimeOffset now) =>
        token.HasAccessToken
        && (token.ExpiresAt is not { } expires || expires - EffectiveMargin(configuredMargin, token.ObtainedAt, expires) > now);

    /// <summary>A request needs a token.</summary>
    public static RefreshAction ForRequest(StoredToken token, TimeSpan configuredMargin, DateTimeOffset now) =>
        token.Status != ConnectionStatus.Connected || !token.HasAccessToken ? RefreshAction.GiveUp
        : IsFresh(token, configuredMargin, now) ? RefreshAction.UseStored
        : RefreshAction.RefreshNow;

    /// <summary>
    /// The upstream answered 401 to the token of <paramref name="rejectedVersion"/>: refresh even though the token looks
    /// fresh (the provider revoked it), unless it was already replaced by a fresh one.
    /// </summary>
    public static RefreshAction AfterRejection(StoredToken token, long rejectedVersion, TimeSpan configuredMargin, DateTimeOffset now) =>
        token.Status != ConnectionStatus.Connected ? RefreshAction.GiveUp
        : token.Version != rejectedVersion && IsFresh(token, configuredMargin, now) ? RefreshAction.UseStored
        : RefreshAction.RefreshNow;

    /// <summary>
    /// The upstream answered 403 <c>insufficient_scope</c> (asking for <paramref name="challengedScopes"/>) to the token of
    /// <paramref name="rejectedVersion"/>. New scopes are progress; a challenge for scopes the token already carries counts
    /// once per token generation, up to <paramref name="maxAuthorizations"/>, so nobody is sent round in circles.
    /// </summary>
    public static StepUpVerdict AfterInsufficientScope(
        StoredToken token, long rejectedVersion, string? grantedScopes, string? pendingScopes, string? challengedScopes, int attempts, long countedVersion,
        bool clientCredentials, int maxAuthorizations, TimeSpan configuredMargin, DateTimeOffset now)
    {
        var wanted = ScopeSet.Union(grantedScopes, pendingScopes, challengedScopes) ?? "";
        if (token.Version != rejectedVersion && IsFresh(token, configuredMargin, now))
        {
            return new StepUpVerdict(StepUpAction.UseStored, wanted, attempts, countedVersion);
        }

        if (challengedScopes is not null && ScopeSet.Covers(grantedScopes, challengedScopes))
        {
            if (countedVersion != token.Version)
            {
                attempts++;
                countedVersion = token.Version;
            }

            if (attempts >= maxAuthorizations)
            {
                return new StepUpVerdict(StepUpAction.GiveUp, wanted, attempts, countedVersion);
            }
        }
        else
        {
            attempts = 0;
        }

        return new StepUpVerdict(clientCredentials ? StepUpAction.RequestNow : StepUpAction.AskPerson, wanted, attempts, countedVersion);
    }

    /// <summary>
    /// One token request of a refresh failed (attempt <paramref name="attempt"/> of <paramref name="maxAttempts"/>). A
    /// refresh token is single-use at rotating servers, so it is sent again only when the failure proves the server did
    /// not act on it; client credentials use up nothing and are always worth another try.
    /// </summary>
    public static FailedAttemptAction AfterFailedAttempt(OAuthFailure failure, bool sentRefreshToken, int attempt, int maxAttempts) =>
        failure.Kind != OAuthFailureKind.Transient ? FailedAttemptAction.Stop
        : sentRefreshToken && failure.MayHaveBeenProcessed ? FailedAttemptAction.RereadStored
        : attempt >= maxAttempts ? FailedAttemptAction.Stop
        : FailedAttemptAction.Retry;
}
