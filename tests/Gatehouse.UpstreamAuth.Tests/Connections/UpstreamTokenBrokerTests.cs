using Gatehouse.Core.Connections;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;

namespace Gatehouse.UpstreamAuth.Tests.Connections;

/// <summary>
/// The broker against a real database, vault and token endpoint: what it stores after each kind of answer, how many
/// token requests it makes, and which error a client gets.
/// </summary>
public sealed class UpstreamTokenBrokerTests
{
    private const string InsufficientScopeChallenge = """Bearer error="insufficient_scope", scope="a b", error_description="needs b" """;

    [Fact]
    public async Task Refresh_WithoutNewRefreshToken_KeepsTheOldOneAndStoresTheNewAccessToken()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-2"));
        var broker = harness.CreateBroker();
        var before = DateTimeOffset.UtcNow;

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Null(result.Error);
        Assert.Equal(new UpstreamToken("at-2", 2), result.Token);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("rt-1", harness.Unseal(row.RefreshTokenSealed));
        Assert.Equal("at-2", harness.Unseal(row.AccessTokenSealed));
        Assert.Equal(2, row.Version);
        Assert.InRange(row.AccessTokenExpiresAt!.Value, before.AddSeconds(3600), DateTimeOffset.UtcNow.AddSeconds(3600));
        Assert.NotNull(row.LastRefreshAt);
        Assert.Equal("connected", row.Status);
        Assert.Single(harness.TokenRequests);
    }

    [Fact]
    public async Task Refresh_WhenTokenRotates_PersistsNewRefreshTokenAndSendsOldOneWithResource()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-2", "rt-2"));
        var broker = harness.CreateBroker();

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Equal("at-2", result.Token?.Value);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("rt-2", harness.Unseal(row.RefreshTokenSealed));
        var request = Assert.Single(harness.TokenRequests);
        Assert.Equal("refresh_token", request.Form["grant_type"]);
        Assert.Equal("rt-1", request.Form["refresh_token"]);
        Assert.Equal(TokenBrokerHarness.Resource, request.Form["resource"]);
        Assert.False(request.Form.ContainsKey("scope"));
        Assert.Equal("Basic " + Convert.ToBase64String("c1:s1"u8.ToArray()), request.Header("Authorization"));
    }

    [Fact]
    public async Task Refresh_TracksRefreshTokenExpirySeparately_AndAnAccessTokenOnlyAnswerKeepsIt()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        var broker = harness.CreateBroker();

        // A rotation that says how long the new refresh token lives.
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-2", "rt-2", expiresIn: 600, extra: "\"refresh_token_expires_in\":86400"));
        var before = DateTimeOffset.UtcNow;
        Assert.Equal("at-2", (await broker.GetAsync(harness.Server, harness.Owner, default)).Token?.Value);
        var rotated = await harness.ReadConnectionAsync();
        Assert.InRange(rotated.RefreshTokenExpiresAt!.Value, before.AddDays(1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.InRange(rotated.AccessTokenExpiresAt!.Value, before.AddMinutes(10), DateTimeOffset.UtcNow.AddMinutes(10));

        // The access token is refused; the answer brings an access token only.
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-3", expiresIn: 7200));
        var renewed = await broker.RenewAfterRejectionAsync(harness.Server, harness.Owner, new UpstreamToken("at-2", rotated.Version), default);

        Assert.Equal("at-3", renewed.Token?.Value);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("rt-2", harness.Unseal(row.RefreshTokenSealed));
        Assert.Equal(rotated.RefreshTokenExpiresAt, row.RefreshTokenExpiresAt);
        Assert.True(row.AccessTokenExpiresAt > rotated.AccessTokenExpiresAt);
        Assert.Equal(2, harness.TokenRequests.Count);
    }

    [Fact]
    public async Task Refresh_AcrossTwoReplicas_HitsTheTokenEndpointOnce()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.TokenEndpointAnswers(async context =>
        {
            // The authorization server answers only once the other replica is waiting for this refresh.
            arrived.TrySetResult();
            await release.Task.WaitAsync(context.RequestAborted);
            await LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-2", "rt-2"));
        });
        var secondWaits = new TimerSignal();
        var replicas = new[] { harness.CreateBroker(), harness.CreateBroker(time: secondWaits) };
        Task<UpstreamTokenResult>[] CallsOn(UpstreamTokenBroker broker) =>
            Enumerable.Range(0, 50).Select(_ => Task.Run(async () => await broker.GetAsync(harness.Server, harness.Owner, default))).ToArray();

        // The first replica takes the lease and is at the token endpoint; the second then finds the lease taken and waits.
        var first = CallsOn(replicas[0]);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var second = CallsOn(replicas[1]);
        await secondWaits.Started.WaitAsync(TimeSpan.FromSeconds(10));
        release.SetResult();
        var results = await Task.WhenAll(first.Concat(second));

        Assert.Single(harness.TokenRequests);
        Assert.All(results, r => Assert.Equal(new UpstreamToken("at-2", 2), r.Token));
        Assert.Equal(1, replicas.Sum(r => r.RefreshCount));
        var row = await harness.ReadConnectionAsync();
        Assert.Equal(2, row.Version);
        Assert.Equal("rt-2", harness.Unseal(row.RefreshTokenSealed));
        Assert.Null(row.RefreshLeaseHolder);
    }

    [Fact]
    public async Task Refresh_WhoseCallersAllGaveUp_IsNotServedToALaterCaller()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = 0;
        harness.TokenEndpointAnswers(async context =>
        {
            if (Interlocked.Increment(ref answers) == 1)
            {
                arrived.SetResult();
                await release.Task;
                await LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-2"));
                return;
            }

            await LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-3"));
        });
        var broker = harness.CreateBroker();

        // The only caller goes away while the refresh waits for the authorization server; the refresh itself goes on.
        using (var gone = new CancellationTokenSource())
        {
            var abandoned = broker.GetAsync(harness.Server, harness.Owner, gone.Token).AsTask();
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await gone.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        }

        var refresh = broker.RefreshInFlight(harness.Server.Id, harness.Owner);
        Assert.False(refresh.IsCompleted, "the refresh went on after its only caller left");
        release.SetResult();
        await refresh.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await harness.ReadConnectionAsync() is { Version: 2, RefreshLeaseHolder: null });

        // Much later generation 2 is due for a refresh: it must be refreshed, not answered with the old refresh's result.
        await harness.UpdateConnectionAsync(row => row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1));
        harness.BumpRevision();
        var later = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Equal(new UpstreamToken("at-3", 3), later.Token);
        Assert.Equal(2, harness.TokenRequests.Count);
    }

    [Fact]
    public async Task Refresh_WhenGrantIsInvalid_NeedsReauthWithAbsoluteConnectUrl_AndAsksNoMore()
    {
        await using var harness = await TokenBrokerHarness.StartAsync(
            (row, _) => row.RefreshTokenExpiresAt = DateTimeOffset.UtcNow.AddDays(3));
        harness.TokenEndpointAnswers("""{"error":"invalid_grant","error_description":"refresh token revoked"}""", 400);
        var broker = harness.CreateBroker(publicBaseUrl: new Uri("https://gatehouse.example.com/"));

        var first = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Null(first.Token);
        Assert.Equal("GH1702", first.Error?.Code);
        Assert.Equal("https://gatehouse.example.com/oauth/connect/server/docs", first.Error?.ConnectUrl);
        Assert.True(Uri.IsWellFormedUriString(first.Error?.ConnectUrl, UriKind.Absolute));
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("needs_reauth", row.Status);
        Assert.Null(row.AccessTokenSealed);
        Assert.Null(row.AccessTokenExpiresAt);
        Assert.Null(row.RefreshTokenSealed);
        Assert.Null(row.RefreshTokenExpiresAt);
        Assert.Contains("invalid_grant", row.LastError, StringComparison.Ordinal);
        Assert.Null(row.RefreshLeaseHolder);

        var second = await broker.GetAsync(harness.Server, harness.Owner, default);
        var renewed = await broker.RenewAfterRejectionAsync(harness.Server, harness.Owner, new UpstreamToken("at-1", 1), default);
        var otherProcess = await harness.CreateBroker().GetAsync(harness.Server, harness.Owner, default);

        Assert.Equal("GH1702", second.Error?.Code);
        Assert.Equal("GH1702", renewed.Error?.Code);
        Assert.Equal("GH1702", otherProcess.Error?.Code);
        Assert.Single(harness.TokenRequests);
    }

    [Fact]
    public async Task Refresh_WhenAuthorizationServerIsUnavailable_GivesUpAfterTheConfiguredAttemptsAndKeepsTheConnection()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers("""{"error":"temporarily_unavailable"}""", 503);
        var options = new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.FromMilliseconds(10) };
        var broker = harness.CreateBroker(options);

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Null(result.Token);
        Assert.Equal("GH1703", result.Error?.Code);
        Assert.Contains($"{options.TokenRequestAttempts} attempts failed, last HTTP 503", result.Error?.Message, StringComparison.Ordinal);
        Assert.Equal(options.TokenRequestAttempts, harness.TokenRequests.Count);
        Assert.Equal(options.TokenRequestAttempts, broker.RefreshCount);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("connected", row.Status);
        Assert.StartsWith("authorization server unavailable at ", row.LastError, StringComparison.Ordinal);
        Assert.Equal("rt-1", harness.Unseal(row.RefreshTokenSealed));
        Assert.Equal("at-1", harness.Unseal(row.AccessTokenSealed));
        Assert.Equal(1, row.Version);
        Assert.Null(row.RefreshLeaseHolder);
    }

    [Fact]
    public async Task StepUp_ForAuthorizationCode_AsksForTheUnion_ThenCountsEachTokenGenerationOnceUpToTheLimit()
    {
        await using var harness = await TokenBrokerHarness.StartAsync(
            (row, _) => row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1));
        var options = new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.FromMilliseconds(10) };
        var broker = harness.CreateBroker(options, new Uri("https://gatehouse.example.com"));

        // The token carries "a"; the upstream wants "a b": new scopes, so a person must authorize them.
        var first = await broker.StepUpAsync(harness.Server, harness.Owner, new UpstreamToken("at-1", 1), InsufficientScopeChallenge, default);

        Assert.Equal("GH1704", first.Error?.Code);
        Assert.Contains("a b", first.Error?.Message, StringComparison.Ordinal);
        Assert.Equal("https://gatehouse.example.com/oauth/connect/server/docs", first.Error?.ConnectUrl);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("a b", row.RequestedScopes);
        Assert.Equal(0, row.StepUpAttempts);

        // Someone authorized "a b" (a new token generation), and the upstream still says the same.
        var version = await ReauthorizeAsync(harness, "a b");
        var expected = new[] { 1, 1, 2, 3 };
        var codes = new List<string?>();
        for (var call = 0; call < expected.Length; call++)
        {
            if (call >= 2)
            {
                version = await ReauthorizeAsync(harness, "a b");
            }

            var result = await broker.StepUpAsync(harness.Server, harness.Owner, new UpstreamToken("at", version), InsufficientScopeChallenge, default);
            codes.Add(result.Error?.Code);
            Assert.Equal(expected[call], (await harness.ReadConnectionAsync()).StepUpAttempts);
        }

        // Generations 2, 3 and 4 each counted once (generation 2 was challenged twice); the third reaches the bound.
        Assert.Equal(options.MaxScopeAuthorizations, expected[^1]);
        Assert.Equal(["GH1704", "GH1704", "GH1704", "GH1705"], codes);
        Assert.Equal("a b", (await harness.ReadConnectionAsync()).RequestedScopes);
        Assert.Empty(harness.TokenRequests);
    }

    [Fact]
    public async Task StepUp_ForClientCredentials_RequestsTheUnionAndReturnsTheNewToken()
    {
        await using var harness = await TokenBrokerHarness.StartAsync((row, vault) =>
        {
            row.GrantType = "client_credentials";
            row.RefreshTokenSealed = null;
            row.AccessTokenSealed = vault.Protect("cc-1");
            row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1);
        });
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("cc-2", extra: "\"scope\":\"a b\""));
        var broker = harness.CreateBroker();

        var result = await broker.StepUpAsync(harness.Server, harness.Owner, new UpstreamToken("cc-1", 1), InsufficientScopeChallenge, default);

        Assert.Null(result.Error);
        Assert.Equal(new UpstreamToken("cc-2", 2), result.Token);
        var request = Assert.Single(harness.TokenRequests);
        Assert.Equal("client_credentials", request.Form["grant_type"]);
        Assert.Equal("a b", request.Form["scope"]);
        Assert.Equal(TokenBrokerHarness.Resource, request.Form["resource"]);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("a b", row.Scopes);
        Assert.Equal("a b", row.RequestedScopes);
        Assert.Equal("cc-2", harness.Unseal(row.AccessTokenSealed));
        Assert.Null(row.RefreshTokenSealed);

        // The next request gets the widened token without another token request.
        Assert.Equal(new UpstreamToken("cc-2", 2), (await broker.GetAsync(harness.Server, harness.Owner, default)).Token);
        Assert.Single(harness.TokenRequests);
    }

    [Fact]
    public async Task Cache_SeesAnotherProcessesChangeOnlyAfterTheRevisionMoves()
    {
        await using var harness = await TokenBrokerHarness.StartAsync(
            (row, _) => row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1));
        var broker = harness.CreateBroker();
        Assert.Equal(new UpstreamToken("at-1", 1), (await broker.GetAsync(harness.Server, harness.Owner, default)).Token);

        // Another process reconnects: a new token in the row, version 2.
        var replacement = harness.Vault.Protect("at-other");
        await harness.UpdateConnectionAsync(row =>
        {
            row.AccessTokenSealed = replacement;
            row.Version = 2;
        });

        // Documented: the cache is only dropped when the configuration revision moves.
        Assert.Equal(new UpstreamToken("at-1", 1), (await broker.GetAsync(harness.Server, harness.Owner, default)).Token);

        harness.BumpRevision();
        Assert.Equal(new UpstreamToken("at-other", 2), (await broker.GetAsync(harness.Server, harness.Owner, default)).Token);
        Assert.Empty(harness.TokenRequests);
    }

    [Fact]
    public async Task RenewAfterRejection_OfAStaleVersion_ReturnsTheCurrentTokenWithoutATokenRequest()
    {
        // Another replica already refreshed: the row holds generation 2, fresh.
        await using var harness = await TokenBrokerHarness.StartAsync((row, vault) =>
        {
            row.AccessTokenSealed = vault.Protect("at-2");
            row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1);
            row.Version = 2;
        });
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-3"));
        var broker = harness.CreateBroker();

        var result = await broker.RenewAfterRejectionAsync(harness.Server, harness.Owner, new UpstreamToken("at-1", 1), default);

        Assert.Equal(new UpstreamToken("at-2", 2), result.Token);
        Assert.Empty(harness.TokenRequests);
        Assert.Equal(0, broker.RefreshCount);
    }

    [Fact]
    public async Task RenewAfterRejection_OfTheCurrentVersion_RefreshesAlthoughTheTokenLooksFresh()
    {
        await using var harness = await TokenBrokerHarness.StartAsync(
            (row, _) => row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1));
        harness.TokenEndpointAnswers(TokenBrokerHarness.TokenJson("at-2"));
        var broker = harness.CreateBroker();

        var result = await broker.RenewAfterRejectionAsync(harness.Server, harness.Owner, new UpstreamToken("at-1", 1), default);

        Assert.Equal(new UpstreamToken("at-2", 2), result.Token);
        Assert.Single(harness.TokenRequests);
    }

    /// <summary>What a completed connect does to the row: the granted scopes, a new token generation.</summary>
    private static async Task<long> ReauthorizeAsync(TokenBrokerHarness harness, string scopes)
    {
        long version = 0;
        var token = harness.Vault.Protect("at-reconnected");
        await harness.UpdateConnectionAsync(row =>
        {
            row.Scopes = scopes;
            row.RequestedScopes = scopes;
            row.AccessTokenSealed = token;
            row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1);
            row.Version++;
            version = row.Version;
        });
        return version;
    }

    /// <summary>The system clock, which also says when the first timer is made on it (a replica starting to wait for another).</summary>
    private sealed class TimerSignal : TimeProvider
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _started.TrySetResult();
            return System.CreateTimer(callback, state, dueTime, period);
        }
    }
}
