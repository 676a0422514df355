using Gatehouse.Core.Connections;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Protocol;

namespace Gatehouse.UpstreamAuth.Tests.Connections;

/// <summary>The pure refresh decision: facts and a clock reading in, fresh / refresh now / step up / give up out.</summary>
public sealed class RefreshDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(60);

    private static StoredToken Token(double obtainedSecondsAgo, double expiresInSeconds, long version = 3, ConnectionStatus status = ConnectionStatus.Connected, bool hasToken = true) =>
        new(status, hasToken, Now.AddSeconds(expiresInSeconds), Now.AddSeconds(-obtainedSecondsAgo), version);

    [Theory]
    [InlineData(3600, 60, 60)]     // an hour-long token: the configured margin
    [InlineData(30, 60, 7.5)]      // shorter than the margin: a quarter of its lifetime
    [InlineData(240, 60, 60)]      // exactly four margins long: either bound
    [InlineData(2, 60, 0.5)]
    public void The_margin_is_the_configured_one_bounded_by_a_quarter_of_the_lifetime(double lifetimeSeconds, double configuredSeconds, double expectedSeconds)
    {
        var margin = RefreshDecision.EffectiveMargin(TimeSpan.FromSeconds(configuredSeconds), Now, Now.AddSeconds(lifetimeSeconds));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), margin);
    }

    [Fact]
    public void Without_a_known_lifetime_the_configured_margin_applies()
    {
        Assert.Equal(Margin, RefreshDecision.EffectiveMargin(Margin, null, Now.AddSeconds(30)));
        Assert.Equal(Margin, RefreshDecision.EffectiveMargin(Margin, Now, null));
        Assert.Equal(Margin, RefreshDecision.EffectiveMargin(Margin, Now, Now.AddSeconds(-1)));
    }

    [Theory]
    [InlineData(10, 20, RefreshAction.UseStored)]    // 30 s token, 10 s old: fresh (the old rule refreshed it on every request)
    [InlineData(22, 8, RefreshAction.UseStored)]     // 7.5 s margin not reached
    [InlineData(23, 7, RefreshAction.RefreshNow)]    // inside the quarter-lifetime margin
    [InlineData(31, -1, RefreshAction.RefreshNow)]   // expired
    [InlineData(3000, 600, RefreshAction.UseStored)] // long-lived token, ten minutes left
    [InlineData(3000, 59, RefreshAction.RefreshNow)] // long-lived token inside the 60 s margin
    public void A_request_uses_the_stored_token_until_the_margin_then_refreshes(double obtainedSecondsAgo, double expiresInSeconds, RefreshAction expected)
    {
        Assert.Equal(expected, RefreshDecision.ForRequest(Token(obtainedSecondsAgo, expiresInSeconds), Margin, Now));
    }

    [Fact]
    public void A_token_without_expiry_is_used_until_the_upstream_refuses_it()
    {
        var token = new StoredToken(ConnectionStatus.Connected, true, null, Now.AddDays(-30), 1);

        Assert.Equal(RefreshAction.UseStored, RefreshDecision.ForRequest(token, Margin, Now));
    }

    [Theory]
    [InlineData(ConnectionStatus.NotConnected, true)]
    [InlineData(ConnectionStatus.NeedsReauth, false)]
    [InlineData(ConnectionStatus.Revoked, false)]
    [InlineData(ConnectionStatus.Connected, false)]
    public void A_connection_that_is_not_connected_or_has_no_token_gives_up(ConnectionStatus status, bool hasToken)
    {
        Assert.Equal(RefreshAction.GiveUp, RefreshDecision.ForRequest(Token(10, 3000, status: status, hasToken: hasToken), Margin, Now));
    }

    [Fact]
    public void After_a_401_a_fresh_looking_token_of_the_refused_version_is_refreshed()
    {
        Assert.Equal(RefreshAction.RefreshNow, RefreshDecision.AfterRejection(Token(10, 3000, version: 3), rejectedVersion: 3, Margin, Now));
    }

    [Fact]
    public void After_a_401_of_a_version_already_replaced_by_a_fresh_token_that_token_is_used()
    {
        Assert.Equal(RefreshAction.UseStored, RefreshDecision.AfterRejection(Token(1, 3000, version: 4), rejectedVersion: 3, Margin, Now));
        Assert.Equal(RefreshAction.RefreshNow, RefreshDecision.AfterRejection(Token(3000, 10, version: 4), rejectedVersion: 3, Margin, Now));
        Assert.Equal(RefreshAction.GiveUp, RefreshDecision.AfterRejection(Token(1, 3000, status: ConnectionStatus.Revoked), 3, Margin, Now));
    }

    [Fact]
    public void A_403_for_new_scopes_asks_for_the_union_and_resets_the_count()
    {
        var verdict = RefreshDecision.AfterInsufficientScope(Token(10, 3000), 3, "a", null, "b c", attempts: 2, countedVersion: 2, clientCredentials: false, 3, Margin, Now);

        Assert.Equal(new StepUpVerdict(StepUpAction.AskPerson, "a b c", 0, 2), verdict);
    }

    [Fact]
    public void A_403_for_scopes_the_token_already_has_counts_each_generation_once_up_to_the_bound()
    {
        var first = RefreshDecision.AfterInsufficientScope(Token(10, 3000, version: 5), 5, "a b", null, "b", 0, 0, false, 3, Margin, Now);
        var sameGeneration = RefreshDecision.AfterInsufficientScope(Token(10, 3000, version: 5), 5, "a b", null, "b", first.Attempts, first.CountedVersion, false, 3, Margin, Now);
        var third = RefreshDecision.AfterInsufficientScope(Token(10, 3000, version: 7), 7, "a b", null, "b", 2, 6, false, 3, Margin, Now);

        Assert.Equal(new StepUpVerdict(StepUpAction.AskPerson, "a b", 1, 5), first);
        Assert.Equal(first, sameGeneration);
        Assert.Equal(new StepUpVerdict(StepUpAction.GiveUp, "a b", 3, 7), third);
    }

    [Fact]
    public void A_403_for_client_credentials_requests_the_union_at_once()
    {
        var verdict = RefreshDecision.AfterInsufficientScope(Token(10, 3000), 3, "a", "x", "b", 0, 0, clientCredentials: true, 3, Margin, Now);

        Assert.Equal(StepUpAction.RequestNow, verdict.Action);
        Assert.Equal("a b x", verdict.WantedScopes);
    }

    [Fact]
    public void A_403_to_a_token_already_replaced_retries_with_the_current_one_without_counting()
    {
        var verdict = RefreshDecision.AfterInsufficientScope(Token(1, 3000, version: 4), 3, "a b", null, "b", 2, 3, false, 3, Margin, Now);

        Assert.Equal(StepUpAction.UseStored, verdict.Action);
        Assert.Equal(2, verdict.Attempts);
    }

    public static TheoryData<string, bool, int, FailedAttemptAction> FailedAttempts => new()
    {
        // Proved unhandled (503, 429, temporarily_unavailable, never connected): retry, even with a refresh token.
        { "unhandled", true, 1, FailedAttemptAction.Retry },
        { "unhandled", true, 3, FailedAttemptAction.Stop },
        // May have been handled (timeout, dropped answer, 500/502/504): a refresh token is never sent again.
        { "maybe-handled", true, 1, FailedAttemptAction.RereadStored },
        { "maybe-handled", true, 3, FailedAttemptAction.RereadStored },
        // Client credentials use up nothing.
        { "maybe-handled", false, 1, FailedAttemptAction.Retry },
        { "maybe-handled", false, 3, FailedAttemptAction.Stop },
        // A refusal is final.
        { "invalid_grant", true, 1, FailedAttemptAction.Stop },
    };

    [Theory]
    [MemberData(nameof(FailedAttempts))]
    public void A_failed_token_request_is_retried_only_when_it_cannot_have_used_up_the_refresh_token(string kind, bool sentRefreshToken, int attempt, FailedAttemptAction expected)
    {
        var failure = kind switch
        {
            "unhandled" => new OAuthFailure(OAuthFailureKind.Transient, "temporarily_unavailable", null, 503),
            "maybe-handled" => new OAuthFailure(OAuthFailureKind.Transient, "timeout", null, null) { MayHaveBeenProcessed = true },
            _ => new OAuthFailure(OAuthFailureKind.InvalidGrant, "invalid_grant", null, 400),
        };

        Assert.Equal(expected, RefreshDecision.AfterFailedAttempt(failure, sentRefreshToken, attempt, maxAttempts: 3));
    }
}
