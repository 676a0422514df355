using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Gatehouse.Proxy.Bridging;

/// <summary>The bridged sessions this process holds (both directions), and their expiry when idle.</summary>
/// <remarks>
/// A 2024-11-05 upstream answers on one long-lived stream, which only the process that opened it can read, so a
/// bridged session lives in that process. A request for it arriving at another replica gets 404 and the client
/// starts a new session, as the Streamable HTTP transport prescribes. Sessions of the other transports keep no
/// state in any process.
/// </remarks>
public sealed class BridgeRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, IBridgedSession> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly ITimer _sweeper;

    /// <summary>Creates the registry and its idle sweep.</summary>
    public BridgeRegistry(TimeProvider time, TimeSpan idleTimeout)
    {
        _time = time;
        _idleTimeout = idleTimeout;
        _sweeper = time.CreateTimer(static s => ((BridgeRegistry)s!).Sweep(), this, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    /// <summary>Number of live bridged sessions.</summary>
    public int Count => _sessions.Count;

    /// <summary>A fresh, unguessable bridge id.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Adds a started session; it is removed when its upstream stream ends.</summary>
    public void Add(IBridgedSession session)
    {
        _sessions[session.Id] = session;
        _ = session.Completion.ContinueWith(_ => _sessions.TryRemove(session.Id, out var _), TaskScheduler.Default);
    }

    /// <summary>Finds a session of this process.</summary>
    public bool TryGet<TSession>(string id, out TSession session)
        where TSession : class, IBridgedSession
    {
        session = (_sessions.TryGetValue(id, out var found) ? found as TSession : null)!;
        return session is not null;
    }

    /// <summary>Ends and forgets a session.</summary>
    public async Task RemoveAsync(string id)
    {
        if (_sessions.TryRemove(id, out var session))
        {
            await session.DisposeAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync();
        foreach (var id in _sessions.Keys)
        {
            await RemoveAsync(id);
        }
    }

    private void Sweep()
    {
        var cutoff = _time.GetUtcNow() - _idleTimeout;
        foreach (var (id, session) in _sessions)
        {
            if (session.LastActivity < cutoff)
            {
                _ = RemoveAsync(id);
            }
        }
    }
}

/// <summary>A session Gatehouse bridges between transports inside this process.</summary>
public interface IBridgedSession : IAsyncDisposable
{
    /// <summary>The id carried in the client's sealed session ticket.</summary>
    string Id { get; }

    /// <summary>When the session last carried a message.</summary>
    DateTimeOffset LastActivity { get; }

    /// <summary>Completes when the session ends by itself (its long-lived stream closed).</summary>
    Task Completion { get; }
}
