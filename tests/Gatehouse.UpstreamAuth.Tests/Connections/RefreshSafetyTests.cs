using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.UpstreamAuth.Tests.Connections;

/// <summary>
/// Refresh that neither hammers the authorization server nor loses the connection: short-lived tokens, answers lost
/// after the request reached the provider, and a concurrent writer, against a real database and token endpoint.
/// </summary>
public sealed class RefreshSafetyTests
{
    [Fact]
    public async Task Refresh_OfATokenLivingShorterThanTheMargin_HappensAboutOncePerLifetime()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = await TokenBrokerHarness.StartAsync((row, _) =>
        {
            row.ConnectedAt = clock.GetUtcNow();
            row.AccessTokenExpiresAt = clock.GetUtcNow().AddSeconds(30);
        });
        var issued = 1;
        harness.TokenEndpointAnswers(context => LoopbackServer.Json(context, TokenBrokerHarness.TokenJson($"at-{Interlocked.Increment(ref issued)}", $"rt-{issued}", expiresIn: 30)));
        var broker = harness.CreateBroker(new UpstreamAuthOptions { RefreshMargin = TimeSpan.FromSeconds(60), TokenRequestBackoff = TimeSpan.Zero }, time: clock);

        // Ten simulated minutes of one request a second against a provider whose tokens live 30 s.
        for (var second = 0; second < 600; second++)
        {
            var result = await broker.GetAsync(harness.Server, harness.Owner, default);
            Assert.True(result.Token is not null, result.Error?.Message);
            var row = await harness.ReadConnectionAsync();
            Assert.True(row.AccessTokenExpiresAt > clock.GetUtcNow(), $"an expired token was handed out at second {second}");
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // 600 s / 30 s = 20 lifetimes; refreshing a quarter-lifetime early makes that at most 600 / 22.5 ≈ 27.
        Assert.InRange(harness.TokenRequests.Count, 20, 28);
    }

    [Fact]
    public async Task Refresh_WhoseAnswerIsLostAfterTheRequestReachedTheProvider_IsNotSentAgainWithTheSameRefreshToken()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers(DropTheConnection);
        var broker = harness.CreateBroker(new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.Zero });

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        // The provider may have consumed rt-1 and rotated it: sending it again would be a replay, which rotating
        // servers answer by revoking the whole grant. One request, then a clear "connect again".
        var request = Assert.Single(harness.TokenRequests);
        Assert.Equal("rt-1", request.Form["refresh_token"]);
        Assert.Null(result.Token);
        Assert.Equal("GH1702", result.Error?.Code);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("needs_reauth", row.Status);
        Assert.Null(row.RefreshTokenSealed);
        Assert.Contains("may have used the refresh token", row.LastError, StringComparison.Ordinal);
        Assert.Null(row.RefreshLeaseHolder);
    }

    [Fact]
    public async Task Refresh_WhoseAnswerIsLost_WhileAnotherReplicaStoredTheRotatedToken_UsesThatOneWithoutResending()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers(async context =>
        {
            // Our lease ran out while the provider was slow; another replica refreshed and stored its result, then our
            // answer is lost on the way back.
            await harness.UpdateConnectionAsync(row =>
            {
                row.AccessTokenSealed = harness.Vault.Protect("at-other");
                row.AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1);
                row.RefreshTokenSealed = harness.Vault.Protect("rt-other");
                row.Version = 2;
            });
            await DropTheConnection(context);
        });
        var broker = harness.CreateBroker(new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.Zero });

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Single(harness.TokenRequests);
        Assert.Equal("at-other", result.Token?.Value);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("connected", row.Status);
        Assert.Equal("rt-other", harness.Unseal(row.RefreshTokenSealed));
    }

    [Fact]
    public async Task Refresh_ThatCannotHaveReachedTheProvider_IsRetriedWithTheSameRefreshToken()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        var attempts = 0;
        harness.TokenEndpointAnswers(context => Interlocked.Increment(ref attempts) < 3
            ? LoopbackServer.Json(context, """{"error":"temporarily_unavailable"}""", 503)
            : LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-2", "rt-2")));
        var broker = harness.CreateBroker(new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.Zero });

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        // 503 temporarily_unavailable says the request was not handled: safe to send the same token again.
        Assert.Equal("at-2", result.Token?.Value);
        Assert.Equal(3, harness.TokenRequests.Count);
        Assert.All(harness.TokenRequests, r => Assert.Equal("rt-1", r.Form["refresh_token"]));
    }

    [Fact]
    public async Task Refresh_Lease_CoversEveryRetry_EvenWhenTheAttemptsOutlastTheLeaseDuration()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = await TokenBrokerHarness.StartAsync((row, _) => row.AccessTokenExpiresAt = clock.GetUtcNow().AddMinutes(-1));
        var leaseHeldDuringAttempt = new List<bool>();
        harness.TokenEndpointAnswers(async context =>
        {
            var row = await harness.ReadConnectionAsync();
            leaseHeldDuringAttempt.Add(row.RefreshLeaseHolder is not null && row.RefreshLeaseUntil > clock.GetUtcNow());
            if (leaseHeldDuringAttempt.Count < 3)
            {
                // A slow, failing authorization server: each attempt takes longer than the whole lease.
                clock.Advance(TimeSpan.FromSeconds(2));
                await LoopbackServer.Json(context, """{"error":"temporarily_unavailable"}""", 503);
                return;
            }

            await LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-2", "rt-2"));
        });
        var broker = harness.CreateBroker(
            new UpstreamAuthOptions { RefreshLeaseDuration = TimeSpan.FromSeconds(1), TokenRequestBackoff = TimeSpan.Zero }, time: clock);

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Equal("at-2", result.Token?.Value);
        Assert.Equal([true, true, true], leaseHeldDuringAttempt);
    }

    [Fact]
    public async Task Refresh_RacingADisconnect_NeitherResurrectsTheConnectionNorHandsOutTheNewToken()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        harness.TokenEndpointAnswers(async context =>
        {
            // While the provider answers, an admin disconnects in another process (its own write of the row).
            await harness.UpdateConnectionAsync(row =>
            {
                row.Status = "revoked";
                row.AccessTokenSealed = null;
                row.AccessTokenExpiresAt = null;
                row.RefreshTokenSealed = null;
                row.Version++;
            });
            await LoopbackServer.Json(context, TokenBrokerHarness.TokenJson("at-2", "rt-2"));
        });
        var broker = harness.CreateBroker();

        var result = await broker.GetAsync(harness.Server, harness.Owner, default);

        Assert.Null(result.Token);
        Assert.Equal("GH1706", result.Error?.Code);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("revoked", row.Status);
        Assert.Null(row.AccessTokenSealed);
        Assert.Null(row.RefreshTokenSealed);
    }

    [Fact]
    public async Task Disconnect_RacingARefreshThatStoredNewTokens_RevokesThoseTooAndClearsThem()
    {
        await using var harness = await TokenBrokerHarness.StartAsync();
        var refreshedMeanwhile = 0;
        harness.RevocationEndpointAnswers(async context =>
        {
            // While the provider revokes the first tokens, a refresh elsewhere stores a new pair.
            if (Interlocked.Increment(ref refreshedMeanwhile) == 1)
            {
                await harness.UpdateConnectionAsync(row =>
                {
                    row.AccessTokenSealed = harness.Vault.Protect("at-new");
                    row.RefreshTokenSealed = harness.Vault.Protect("rt-new");
                    row.Version++;
                });
            }
        });
        var flows = new Gatehouse.UpstreamAuth.Flows.ConnectFlows(harness.CreateServices());

        var report = await flows.DisconnectAsync(harness.Server, harness.Owner, "admin", default);

        Assert.Equal("revoked", report?.Status);
        var row = await harness.ReadConnectionAsync();
        Assert.Equal("revoked", row.Status);
        Assert.Null(row.AccessTokenSealed);
        Assert.Null(row.RefreshTokenSealed);
        var revokedTokens = harness.RevocationRequests.Select(r => r.Form["token"]).ToList();
        Assert.Contains("rt-1", revokedTokens);
        Assert.Contains("rt-new", revokedTokens);
        Assert.Contains("at-new", revokedTokens);
    }

    /// <summary>Reads the whole request, then drops the connection without an answer: the request reached the provider.</summary>
    private static async Task DropTheConnection(HttpContext context)
    {
        await context.Request.ReadFormAsync();
        context.Abort();
    }
}
