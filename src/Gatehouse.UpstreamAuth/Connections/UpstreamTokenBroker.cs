using System.Collections.Concurrent;
using System.Security.Cryptography;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Servers;
using Gatehouse.Storage.Entities;
using Gatehouse.UpstreamAuth.Protocol;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>
/// Hands the proxy upstream access tokens at the boundary: proactive refresh inside the margin, reactive refresh after a
/// 401, automatic step-up for client-credentials connections, and exactly one refresh in flight per connection however
/// many requests wait on it (in this process by a shared task, across replicas by a lease row in the database).
/// </summary>
/// <remarks>
/// The cache holds only sealed tokens, keyed by connection, and is dropped whenever the configuration revision moves
/// (connect, disconnect and offboarding bump it), so a change made by another process is seen on the next request.
/// A new refresh token is written to the database before the access token that came with it is handed out.
/// </remarks>
public sealed partial class UpstreamTokenBroker(UpstreamAuthServices services, Func<long> configurationRevision, ILogger<UpstreamTokenBroker> logger)
    : IUpstreamTokenSource
{
    private readonly ConcurrentDictionary<(Guid Server, ConnectionOwner Owner), CachedConnection> _cache = new();
    private readonly ConcurrentDictionary<(Guid Server, ConnectionOwner Owner), Lazy<Task<UpstreamTokenResult>>> _inFlight = new();
    private readonly ClientRegistry _clients = new(services);
    private readonly string _replicaId = Environment.MachineName + "/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private long _cacheRevision = -1;

    /// <summary>Refresh attempts that reached the authorization server (for tests and metrics).</summary>
    public long RefreshCount => Interlocked.Read(ref _refreshCount);

    private long _refreshCount;

    /// <inheritdoc />
    public async ValueTask<UpstreamTokenResult> GetAsync(ServerDefinition server, ConnectionOwner owner, CancellationToken cancellationToken)
    {
        var cached = await LoadAsync(server.Id, owner, cancellationToken);
        var decision = cached is null ? RefreshAction.GiveUp : RefreshDecision.ForRequest(cached.Facts, services.Options.RefreshMargin, services.Time.GetUtcNow());
        return decision switch
        {
            RefreshAction.UseStored => Open(server, cached!),
            RefreshAction.RefreshNow => await RefreshOnceAsync(server, owner, cached!.Version, force: false, cancellationToken),
            _ => UpstreamTokenResult.Fail(StatusError(server, cached)),
        };
    }

    /// <inheritdoc />
    public async ValueTask<UpstreamTokenResult> RenewAfterRejectionAsync(ServerDefinition server, ConnectionOwner owner, UpstreamToken rejected, CancellationToken cancellationToken)
    {
        LogRejected(logger, server.Name, rejected.Version);
        return await RefreshOnceAsync(server, owner, rejected.Version, force: true, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<UpstreamTokenResult> StepUpAsync(ServerDefinition server, ConnectionOwner owner, UpstreamToken rejected, string challenge, CancellationToken cancellationToken)
    {
        var challenged = WwwAuthenticateChallenge.Parse(challenge)?.Scope;
        await using var db = services.Storage.CreateContext();
        var row = await FindAsync(db, server.Id, owner, cancellationToken);
        if (row is null || ConnectionStatusNames.Parse(row.Status) != ConnectionStatus.Connected)
        {
            return UpstreamTokenResult.Fail(StatusError(server, row is null ? null : ToCached(row)));
        }

        var verdict = RefreshDecision.AfterInsufficientScope(
            Facts(row), rejected.Version, row.Scopes, row.RequestedScopes, challenged, row.StepUpAttempts, row.StepUpVersion, row.GrantType == "client_credentials",
            services.Options.MaxScopeAuthorizations, services.Options.RefreshMargin, services.Time.GetUtcNow());
        if (verdict.Action == StepUpAction.UseStored)
        {
            // The refused token is already stale (someone re-authorized or refreshed meanwhile): retry with the current one
            // rather than counting the refusal against it.
            return Remember(server, owner, row);
        }

        LogStepUp(logger, server.Name, challenged ?? "(none)");
        row.StepUpAttempts = verdict.Attempts;
        row.StepUpVersion = verdict.CountedVersion;
        if (verdict.Action != StepUpAction.GiveUp)
        {
            row.RequestedScopes = verdict.WantedScopes;
            row.UpdatedAt = services.Time.GetUtcNow();
        }

        if (!await TrySaveAsync(db, cancellationToken))
        {
            return await RereadAsync(server, owner);
        }

        return verdict.Action switch
        {
            StepUpAction.GiveUp => UpstreamTokenResult.Fail(GatewayErrors.UpstreamScopeRetryLimit(server.Name, verdict.WantedScopes, verdict.Attempts)),
            // No person is needed: ask for the union now and retry once.
            StepUpAction.RequestNow => await RefreshOnceAsync(server, owner, row.Version, force: true, cancellationToken),
            _ => UpstreamTokenResult.Fail(GatewayErrors.UpstreamNeedsScope(server.Name, verdict.WantedScopes, services.ConnectHint(server.Name), services.AdminConnectUrl(server.Name))),
        };
    }

    /// <summary>Drops what this process cached about a connection (after connect or disconnect in this process).</summary>
    public void Forget(Guid serverId, ConnectionOwner owner) => _cache.TryRemove((serverId, owner), out _);

    private async ValueTask<CachedConnection?> LoadAsync(Guid serverId, ConnectionOwner owner, CancellationToken ct)
    {
        var revision = configurationRevision();
        if (Interlocked.Exchange(ref _cacheRevision, revision) != revision)
        {
            _cache.Clear();
        }

        if (_cache.TryGetValue((serverId, owner), out var cached))
        {
            return cached;
        }

        await using var db = services.Storage.CreateContext();
        var row = await FindAsync(db, serverId, owner, ct);
        if (row is null)
        {
            return null;
        }

        cached = ToCached(row);
        _cache[(serverId, owner)] = cached;
        return cached;
    }

    private UpstreamTokenResult Open(ServerDefinition server, CachedConnection cached)
    {
        try
        {
            return UpstreamTokenResult.Of(new UpstreamToken(services.Vault.Unprotect(cached.SealedAccessToken!), cached.Version));
        }
        catch (CryptographicException problem)
        {
            return UpstreamTokenResult.Fail(BadInputErrors.SealedValueUnreadable(server.Name, problem));
        }
    }

    /// <summary>
    /// The refresh of this connection now in flight, or a completed task when there is none: how a test waits for a
    /// refresh that goes on after all its callers left.
    /// </summary>
    internal Task RefreshInFlight(Guid serverId, ConnectionOwner owner) =>
        _inFlight.TryGetValue((serverId, owner), out var refresh) ? refresh.Value : Task.CompletedTask;

    /// <summary>Runs (or joins) the one refresh of this connection.</summary>
    private async ValueTask<UpstreamTokenResult> RefreshOnceAsync(ServerDefinition server, ConnectionOwner owner, long staleVersion, bool force, CancellationToken ct)
    {
        var key = (server.Id, owner);
        var lazy = _inFlight.GetOrAdd(key, k => new Lazy<Task<UpstreamTokenResult>>(() => RefreshAsync(server, k.Owner, staleVersion, force)));
        try
        {
            // The refresh itself is not tied to any one caller: a client that goes away must not abort it for the others.
            return await lazy.Value.WaitAsync(ct);
        }
        finally
        {
            // Only this refresh's entry is removed (compared by value), never a newer one started meanwhile. A caller that
            // gave up first leaves the removal to the refresh's end: a finished refresh must not answer a later caller.
            var entry = new KeyValuePair<(Guid, ConnectionOwner), Lazy<Task<UpstreamTokenResult>>>(key, lazy);
            if (lazy.Value.IsCompleted)
            {
                _inFlight.TryRemove(entry);
            }
            else
            {
                _ = lazy.Value.ContinueWith(_ => _inFlight.TryRemove(entry), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private async Task<UpstreamTokenResult> RefreshAsync(ServerDefinition server, ConnectionOwner owner, long staleVersion, bool force)
    {
        await Task.Yield();
        using var timeout = new CancellationTokenSource(services.Options.RefreshWaitLimit + TimeSpan.FromSeconds(30));
        var ct = timeout.Token;
        {
            await using var db = services.Storage.CreateContext();
            var row = await FindAsync(db, server.Id, owner, ct);
            if (row is null || ConnectionStatusNames.Parse(row.Status) != ConnectionStatus.Connected)
            {
                return Remember(server, owner, row);
            }

            // Someone (another request's refresh, another replica) may have renewed it meanwhile.
            var now = services.Time.GetUtcNow();
            var decision = force
                ? RefreshDecision.AfterRejection(Facts(row), staleVersion, services.Options.RefreshMargin, now)
                : RefreshDecision.ForRequest(Facts(row), services.Options.RefreshMargin, now);
            if (decision != RefreshAction.RefreshNow)
            {
                return Remember(server, owner, row);
            }

            if (!await TryTakeLeaseAsync(db, row, ct))
            {
                return await WaitForOtherReplicaAsync(server, owner, row.Version, ct);
            }

            await db.Entry(row).ReloadAsync(ct);
            try
            {
                return await RefreshHoldingLeaseAsync(db, server, owner, row, ct);
            }
            finally
            {
                await db.UpstreamConnections.Where(c => c.Id == row.Id && c.RefreshLeaseHolder == _replicaId)
                    .ExecuteUpdateAsync(u => u.SetProperty(c => c.RefreshLeaseHolder, (string?)null).SetProperty(c => c.RefreshLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);
            }
        }
    }

    private async Task<UpstreamTokenResult> RefreshHoldingLeaseAsync(Storage.GatehouseDbContext db, ServerDefinition server, ConnectionOwner owner, UpstreamConnectionRecord row, CancellationToken ct)
    {
        try
        {
            return await RefreshWithSecretsAsync(db, server, owner, row, ct);
        }
        catch (CryptographicException problem)
        {
            // The refresh token or the client's secret would not open: say which server and what to do, not a 500.
            return UpstreamTokenResult.Fail(BadInputErrors.SealedValueUnreadable(server.Name, problem));
        }
    }

    private async Task<UpstreamTokenResult> RefreshWithSecretsAsync(Storage.GatehouseDbContext db, ServerDefinition server, ConnectionOwner owner, UpstreamConnectionRecord row, CancellationToken ct)
    {
        var metadata = row.AuthorizationServerJson is { } json ? UpstreamAuthServices.Deserialize(json) : null;
        var client = metadata is null ? null : await _clients.ForConnectionAsync(server, metadata, row.ClientSource, row.ClientId, row.Issuer, ct);
        if (metadata is null || client is null)
        {
            return await MarkNeedsReauthAsync(db, server, owner, row, "the client registration used for this connection is gone");
        }

        var policy = UpstreamAuthServices.PolicyFor(server);
        string? refreshToken = null;
        if (row.RefreshTokenSealed is { } sealedRefresh)
        {
            refreshToken = services.Vault.Unprotect(sealedRefresh);
        }
        else if (row.GrantType != "client_credentials")
        {
            return await MarkNeedsReauthAsync(db, server, owner, row, "the access token expired and the authorization server issued no refresh token");
        }

        var scope = row.GrantType == "client_credentials" ? row.RequestedScopes ?? row.Scopes : null;
        TokenResult result = null!;
        for (var attempt = 1; attempt <= services.Options.TokenRequestAttempts; attempt++)
        {
            if (attempt > 1 && !await RenewLeaseAsync(db, row, ct))
            {
                // The lease ran out during the back-off and another replica took over: its result is the one to use.
                return await RereadAsync(server, owner);
            }

            Interlocked.Increment(ref _refreshCount);
            result = refreshToken is not null
                ? await services.Tokens.RefreshAsync(metadata, client, refreshToken, row.Resource, null, policy, ct)
                : await services.Tokens.ClientCredentialsAsync(metadata, client, row.Resource, scope, policy, ct);
            if (result is not OAuthFailure failed)
            {
                break;
            }

            var next = RefreshDecision.AfterFailedAttempt(failed, refreshToken is not null, attempt, services.Options.TokenRequestAttempts);
            if (next == FailedAttemptAction.RereadStored)
            {
                return await AfterLostAnswerAsync(db, server, owner, row, failed);
            }

            if (next == FailedAttemptAction.Stop)
            {
                break;
            }

            var backoff = services.Options.TokenRequestBackoff * Math.Pow(2, attempt - 1) * (0.8 + (Random.Shared.NextDouble() * 0.4));
            LogRefreshRetry(logger, server.Name, attempt, (int)backoff.TotalMilliseconds);
            await Task.Delay(backoff, services.Time, ct);
        }

        var now = services.Time.GetUtcNow();
        switch (result)
        {
            case TokenSet tokens:
                // The new refresh token is saved before the access token that came with it is used; when the server
                // returns none, the old one stays (it is still valid under non-rotating servers).
                if (tokens.RefreshToken is { } newRefresh)
                {
                    row.RefreshTokenSealed = services.Vault.Protect(newRefresh);
                    row.RefreshTokenExpiresAt = tokens.RefreshTokenExpiresAt;
                }

                row.AccessTokenSealed = services.Vault.Protect(tokens.AccessToken);
                row.AccessTokenExpiresAt = tokens.ExpiresAt;
                row.Scopes = tokens.Scope ?? (scope ?? row.Scopes);
                row.LastRefreshAt = now;
                row.LastError = null;
                row.Version++;
                row.UpdatedAt = now;
                if (!await TrySaveAsync(db, CancellationToken.None))
                {
                    // Someone changed the row while the provider answered (a disconnect, a new connect): their write
                    // stands, and the tokens just obtained are dropped rather than written over it.
                    LogLostUpdateAvoided(logger, server.Name);
                    return await RereadAsync(server, owner);
                }

                services.OnRefresh(server.Name, "success");
                LogRefreshed(logger, server.Name, row.Version, tokens.RefreshToken is not null);
                return Remember(server, owner, row);

            case OAuthFailure { Kind: OAuthFailureKind.InvalidGrant } failure:
                services.OnRefresh(server.Name, "invalid_grant");
                return await MarkNeedsReauthAsync(db, server, owner, row, $"the authorization server refused the refresh token (invalid_grant{Describe(failure)})");

            case OAuthFailure { Kind: OAuthFailureKind.InvalidClient } failure:
                services.OnRefresh(server.Name, "invalid_client");
                if (row.ClientSource == ClientRegistry.Dynamic)
                {
                    // The registration is gone at the server: forget it, so the next connect registers once more.
                    await _clients.ForgetAsync(row.Issuer, row.ClientId, ct);
                }

                return await MarkNeedsReauthAsync(db, server, owner, row, $"the authorization server no longer knows Gatehouse's client (invalid_client{Describe(failure)})");

            case OAuthFailure { Kind: OAuthFailureKind.Transient } failure:
                services.OnRefresh(server.Name, "unavailable");
                row.LastError = $"authorization server unavailable at {now:yyyy-MM-ddTHH:mm:ssZ}{Describe(failure)}";
                row.UpdatedAt = now;
                if (!await TrySaveAsync(db, CancellationToken.None))
                {
                    return await RereadAsync(server, owner);
                }

                LogRefreshUnavailable(logger, server.Name, services.Options.TokenRequestAttempts);
                return UpstreamTokenResult.Fail(GatewayErrors.UpstreamAuthorizationUnavailable(
                    server.Name, $"{services.Options.TokenRequestAttempts} attempts failed{(failure.StatusCode is { } status ? $", last HTTP {status}" : "")}"));

            case OAuthFailure failure:
                services.OnRefresh(server.Name, "rejected");
                return await MarkNeedsReauthAsync(db, server, owner, row, $"the authorization server refused the refresh ({failure.Error}{Describe(failure)})");

            default:
                throw new InvalidOperationException("Unknown token result.");
        }
    }

    private static string Describe(OAuthFailure failure) => failure.Description is { Length: > 0 } description ? ": " + description : "";

    private async Task<UpstreamTokenResult> MarkNeedsReauthAsync(Storage.GatehouseDbContext db, ServerDefinition server, ConnectionOwner owner, UpstreamConnectionRecord row, string reason)
    {
        var now = services.Time.GetUtcNow();
        row.Status = ConnectionStatus.NeedsReauth.ToName();
        row.AccessTokenSealed = null;
        row.AccessTokenExpiresAt = null;
        row.RefreshTokenSealed = null;
        row.RefreshTokenExpiresAt = null;
        row.LastError = reason;
        row.Version++;
        row.UpdatedAt = now;
        if (!await TrySaveAsync(db, CancellationToken.None))
        {
            return await RereadAsync(server, owner);
        }

        LogNeedsReauth(logger, server.Name, reason);
        return Remember(server, owner, row);
    }

    /// <summary>
    /// A refresh request reached the authorization server but its answer was lost: the refresh token may be used up, so it
    /// is never sent again. Another replica may have stored a rotated token meanwhile (our lease having run out); if the
    /// row moved, that is the token to use; otherwise a person must connect again.
    /// </summary>
    private async Task<UpstreamTokenResult> AfterLostAnswerAsync(
        Storage.GatehouseDbContext db, ServerDefinition server, ConnectionOwner owner, UpstreamConnectionRecord row, OAuthFailure failure)
    {
        services.OnRefresh(server.Name, "lost_answer");
        await using (var fresh = services.Storage.CreateContext())
        {
            var stored = await FindAsync(fresh, server.Id, owner, CancellationToken.None);
            if (stored is null || stored.Version != row.Version)
            {
                return Remember(server, owner, stored);
            }
        }

        return await MarkNeedsReauthAsync(db, server, owner, row,
            $"the answer to a refresh was lost after the request reached the authorization server ({failure}), which may have used the refresh token; " +
            "Gatehouse never sends a refresh token twice");
    }

    /// <summary>Saves; false when the row's version moved since it was read (the concurrency token), nothing written.</summary>
    private static async Task<bool> TrySaveAsync(Storage.GatehouseDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
    }

    /// <summary>The connection as stored now, remembered and handed out (or its status as an error).</summary>
    private async Task<UpstreamTokenResult> RereadAsync(ServerDefinition server, ConnectionOwner owner)
    {
        await using var db = services.Storage.CreateContext();
        return Remember(server, owner, await FindAsync(db, server.Id, owner, CancellationToken.None));
    }

    /// <summary>Extends this replica's lease before another attempt, so the lease covers the whole refresh, retries included.</summary>
    private async Task<bool> RenewLeaseAsync(Storage.GatehouseDbContext db, UpstreamConnectionRecord row, CancellationToken ct)
    {
        var until = services.Time.GetUtcNow() + services.Options.RefreshLeaseDuration;
        var renewed = await db.UpstreamConnections
            .Where(c => c.Id == row.Id && c.Version == row.Version && c.RefreshLeaseHolder == _replicaId)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.RefreshLeaseUntil, until), ct);
        return renewed == 1;
    }

    private async Task<bool> TryTakeLeaseAsync(Storage.GatehouseDbContext db, UpstreamConnectionRecord row, CancellationToken ct)
    {
        var now = services.Time.GetUtcNow();
        var until = now + services.Options.RefreshLeaseDuration;
        var taken = await db.UpstreamConnections
            .Where(c => c.Id == row.Id && c.Version == row.Version && (c.RefreshLeaseUntil == null || c.RefreshLeaseUntil < now || c.RefreshLeaseHolder == _replicaId))
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.RefreshLeaseHolder, _replicaId).SetProperty(c => c.RefreshLeaseUntil, until), ct);
        return taken == 1;
    }

    private async Task<UpstreamTokenResult> WaitForOtherReplicaAsync(ServerDefinition server, ConnectionOwner owner, long version, CancellationToken ct)
    {
        var deadline = services.Time.GetUtcNow() + services.Options.RefreshWaitLimit;
        while (services.Time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), services.Time, ct);
            await using var db = services.Storage.CreateContext();
            var row = await FindAsync(db, server.Id, owner, ct);
            if (row is null || row.Version != version)
            {
                return Remember(server, owner, row);
            }

            if (row.RefreshLeaseHolder is null)
            {
                // The other replica gave up without a new token (its authorization server was unavailable).
                return Fresh(row)
                    ? Remember(server, owner, row)
                    : UpstreamTokenResult.Fail(GatewayErrors.UpstreamAuthorizationUnavailable(server.Name, "another Gatehouse replica's refresh failed: " + (row.LastError ?? "no detail")));
            }
        }

        return UpstreamTokenResult.Fail(GatewayErrors.UpstreamAuthorizationUnavailable(server.Name, "another Gatehouse replica's refresh did not finish in time"));
    }

    private UpstreamTokenResult Remember(ServerDefinition server, ConnectionOwner owner, UpstreamConnectionRecord? row)
    {
        if (row is null)
        {
            _cache.TryRemove((server.Id, owner), out _);
            return UpstreamTokenResult.Fail(StatusError(server, null));
        }

        var cached = ToCached(row);
        _cache[(server.Id, owner)] = cached;
        return cached.Status == ConnectionStatus.Connected && cached.SealedAccessToken is not null
            ? Open(server, cached)
            : UpstreamTokenResult.Fail(StatusError(server, cached));
    }

    private bool Fresh(UpstreamConnectionRecord row) => RefreshDecision.IsFresh(Facts(row), services.Options.RefreshMargin, services.Time.GetUtcNow());

    private static StoredToken Facts(UpstreamConnectionRecord row) =>
        new(ConnectionStatusNames.Parse(row.Status), row.AccessTokenSealed is not null, row.AccessTokenExpiresAt, ObtainedAt(row), row.Version);

    /// <summary>When the stored access token was obtained: at the last refresh, or at the connect when that came later.</summary>
    private static DateTimeOffset? ObtainedAt(UpstreamConnectionRecord row) =>
        row.LastRefreshAt is { } refreshed && (row.ConnectedAt is not { } connected || refreshed > connected) ? refreshed : row.ConnectedAt;

    private GatewayError StatusError(ServerDefinition server, CachedConnection? cached)
    {
        var hint = services.ConnectHint(server.Name);
        var url = services.AdminConnectUrl(server.Name);
        return cached?.Status switch
        {
            ConnectionStatus.NeedsReauth => GatewayErrors.UpstreamNeedsReauth(server.Name, hint, url),
            ConnectionStatus.Revoked => GatewayErrors.UpstreamConnectionRevoked(server.Name, hint, url),
            _ => GatewayErrors.UpstreamNotConnected(server.Name, hint, url),
        };
    }

    private static Task<UpstreamConnectionRecord?> FindAsync(Storage.GatehouseDbContext db, Guid serverId, ConnectionOwner owner, CancellationToken ct)
    {
        var kind = owner.KindName;
        var id = owner.Id;
        return db.UpstreamConnections.FirstOrDefaultAsync(c => c.ServerId == serverId && c.OwnerKind == kind && c.OwnerId == id, ct);
    }

    private static CachedConnection ToCached(UpstreamConnectionRecord row) =>
        new(row.Version, ConnectionStatusNames.Parse(row.Status), row.AccessTokenSealed, row.AccessTokenExpiresAt, ObtainedAt(row));

    private sealed record CachedConnection(long Version, ConnectionStatus Status, string? SealedAccessToken, DateTimeOffset? ExpiresAt, DateTimeOffset? ObtainedAt)
    {
        public StoredToken Facts => new(Status, SealedAccessToken is not null, ExpiresAt, ObtainedAt, Version);
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Refreshed the upstream token of server {Server} (version {Version}, new refresh token: {Rotated}).")]
    private static partial void LogRefreshed(ILogger logger, string server, long version, bool rotated);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Server {Server} needs a new authorization: {Reason}.")]
    private static partial void LogNeedsReauth(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "The authorization server of {Server} is unavailable; token request attempt {Attempt} failed, retrying in {DelayMs} ms.")]
    private static partial void LogRefreshRetry(ILogger logger, string server, int attempt, int delayMs);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Error, Message = "The authorization server of {Server} stayed unavailable after {Attempts} attempts; the stored connection is kept.")]
    private static partial void LogRefreshUnavailable(ILogger logger, string server, int attempts);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "Server {Server} rejected upstream token version {Version} (401); refreshing and retrying once.")]
    private static partial void LogRejected(ILogger logger, string server, long version);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Server {Server} asked for more scope ({Scope}).")]
    private static partial void LogStepUp(ILogger logger, string server, string scope);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "The connection of server {Server} changed while its refresh ran (disconnect or new connect); the refreshed tokens were not stored over it.")]
    private static partial void LogLostUpdateAvoided(ILogger logger, string server);
}
