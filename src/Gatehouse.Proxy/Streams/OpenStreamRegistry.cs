using System.Collections.Concurrent;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Grants;
using Gatehouse.Proxy.Authentication;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Streams;

/// <summary>What a long-lived hold on the gateway is, for the per-principal caps.</summary>
public enum OpenStreamKind
{
    /// <summary>A GET stream: a Streamable HTTP session's server-to-client stream, or an HTTP+SSE client's stream.</summary>
    GetStream,

    /// <summary>A session bridged to an HTTP+SSE upstream, which holds the upstream's stream in this process.</summary>
    BridgedSession,
}

/// <summary>
/// The long-lived streams and bridged sessions this process holds, per principal: caps them
/// (<see cref="ProxyOptions.MaxOpenStreamsPerPrincipal"/>, <see cref="ProxyOptions.MaxBridgedSessionsPerPrincipal"/>), and
/// ends those of a principal that a new configuration snapshot shows revoked, expired, disabled or no longer allowed.
/// </summary>
/// <remarks>
/// Admission checks credentials per request, but a stream opened before a revocation would otherwise run on for hours.
/// <see cref="OpenStreamWatcher"/> reviews the holds whenever the snapshot's revision moves. The registry is bounded:
/// every entry belongs to an admitted principal and each principal holds at most the caps.
/// </remarks>
public sealed class OpenStreamRegistry(IOptions<ProxyOptions> options)
{
    private readonly ConcurrentDictionary<string, PrincipalHolds> _byPrincipal = new(StringComparer.Ordinal);

    /// <summary>Raised after a hold was released (its stream or session ended), outside any lock.</summary>
    public event Action? Released;

    /// <summary>Holds open now, all principals together.</summary>
    public int Count => _byPrincipal.Values.Sum(h => h.Count);

    /// <summary>
    /// Takes a hold for <paramref name="principal"/> on <paramref name="server"/>, or returns null when the principal is at
    /// its cap for <paramref name="kind"/>. <paramref name="end"/> runs (once) if the principal is revoked while it is held.
    /// Dispose the hold when the stream or session ends.
    /// </summary>
    public OpenStream? TryOpen(GatewayPrincipal principal, string server, OpenStreamKind kind, Action end)
    {
        var cap = kind == OpenStreamKind.GetStream ? options.Value.MaxOpenStreamsPerPrincipal : options.Value.MaxBridgedSessionsPerPrincipal;
        while (true)
        {
            var holds = _byPrincipal.GetOrAdd(principal.Id, static _ => new PrincipalHolds());
            lock (holds)
            {
                // A release may have removed this entry between GetOrAdd and the lock: a hold added to it would be
                // invisible to the cap and to Review, so take the entry that is in the registry now.
                if (!_byPrincipal.TryGetValue(principal.Id, out var current) || !ReferenceEquals(current, holds))
                {
                    continue;
                }

                if (holds.CountOf(kind) >= cap)
                {
                    return null;
                }

                var stream = new OpenStream(this, holds, principal, server, kind, end);
                holds.Add(stream);
                return stream;
            }
        }
    }

    /// <summary>Ends every hold whose principal <paramref name="snapshot"/> no longer admits for its server.</summary>
    /// <returns>How many were ended.</returns>
    public int Review(GatewaySnapshot snapshot, DateTimeOffset now)
    {
        Dictionary<Guid, Grant>? grants = null;
        var ended = 0;
        foreach (var (_, holds) in _byPrincipal)
        {
            OpenStream[] current;
            lock (holds)
            {
                current = holds.ToArray();
            }

            foreach (var stream in current)
            {
                grants ??= snapshot.GrantsByTokenHash.Values.ToDictionary(g => g.Id);
                if (!StillAdmitted(snapshot, grants, stream.Principal, stream.Server, now))
                {
                    stream.End();
                    ended++;
                }
            }
        }

        return ended;
    }

    internal void Release(PrincipalHolds holds, OpenStream stream)
    {
        lock (holds)
        {
            holds.Remove(stream);
            if (holds.IsEmpty)
            {
                // Removed under the lock that adds; a TryOpen that fetched this entry before the removal sees it gone and retries.
                _byPrincipal.TryRemove(new KeyValuePair<string, PrincipalHolds>(stream.Principal.Id, holds));
            }
        }

        Released?.Invoke();
    }

    // The same conditions Admission applies, on what the snapshot holds (no token is kept): a grant still present,
    // unrevoked, unexpired, covering the server, its owner enabled; a user enabled and their access token unrevoked.
    private static bool StillAdmitted(GatewaySnapshot snapshot, Dictionary<Guid, Grant> grants, GatewayPrincipal principal, string server, DateTimeOffset now)
    {
        if (!snapshot.ServersByName.TryGetValue(server, out var definition) || !definition.Enabled)
        {
            return false;
        }

        if (principal.Grant is { } held)
        {
            return grants.TryGetValue(held.Id, out var grant) && grant.RevokedAt is null && !(grant.ExpiresAt <= now) && grant.Servers.Contains(server)
                   && !(grant.OwnerUserId is { } owner && snapshot.DisabledUsers.ContainsKey(owner));
        }

        if (Guid.TryParse(principal.UserId, out var user) && snapshot.DisabledUsers.ContainsKey(user))
        {
            return false;
        }

        return principal.AccessTokenId is not { } tokenId || !snapshot.RevokedAccessTokens.Contains(tokenId);
    }

    /// <summary>One principal's holds; locked by the registry.</summary>
    internal sealed class PrincipalHolds
    {
        private readonly List<OpenStream> _streams = [];

        public int Count
        {
            get
            {
                lock (this)
                {
                    return _streams.Count;
                }
            }
        }

        public bool IsEmpty => _streams.Count == 0;

        public int CountOf(OpenStreamKind kind) => _streams.Count(s => s.Kind == kind);

        public void Add(OpenStream stream) => _streams.Add(stream);

        public void Remove(OpenStream stream) => _streams.Remove(stream);

        public OpenStream[] ToArray() => [.. _streams];
    }
}

/// <summary>One held stream or bridged session; dispose it when it ends.</summary>
public sealed class OpenStream : IDisposable
{
    private readonly OpenStreamRegistry _registry;
    private readonly OpenStreamRegistry.PrincipalHolds _holds;
    private readonly Action _end;
    private int _released;
    private int _ended;

    internal OpenStream(OpenStreamRegistry registry, OpenStreamRegistry.PrincipalHolds holds, GatewayPrincipal principal, string server, OpenStreamKind kind, Action end)
    {
        _registry = registry;
        _holds = holds;
        Principal = principal;
        Server = server;
        Kind = kind;
        _end = end;
    }

    /// <summary>Who holds it.</summary>
    public GatewayPrincipal Principal { get; }

    /// <summary>The server it is for.</summary>
    public string Server { get; }

    /// <summary>What it is.</summary>
    public OpenStreamKind Kind { get; }

    /// <summary>Ends the stream because its principal lost access (runs the end action once, then releases the hold).</summary>
    public void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            _end();
        }

        Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _registry.Release(_holds, this);
        }
    }
}
