using System.Collections.Concurrent;
using System.Collections.Frozen;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;

namespace Gatehouse.Core.Configuration;

/// <summary>An immutable, indexed view of the configuration that the request path reads without locks.</summary>
/// <remarks>A change builds a new snapshot and publishes it; requests in flight keep the one they started with.</remarks>
public sealed class GatewaySnapshot
{
    /// <summary>An empty snapshot.</summary>
    public static GatewaySnapshot Empty { get; } = new(0, [], []);

    // Composed sets are memoised per (server, grant): composing precomputes quota lists and versions, and a snapshot
    // never changes, so each pair is composed once per configuration revision.
    private readonly ConcurrentDictionary<(Guid Server, Guid Grant), PolicySet> _policySets = new();

    /// <summary>Creates a snapshot.</summary>
    /// <param name="revision">The configuration revision.</param>
    /// <param name="servers">Every server.</param>
    /// <param name="grants">Every grant.</param>
    /// <param name="policies">Compiled policies by name (a policy that failed to compile is absent and fails closed).</param>
    /// <param name="disabledUsers">Users who may no longer use Gatehouse, with when they were disabled.</param>
    public GatewaySnapshot(
        long revision, IEnumerable<ServerDefinition> servers, IEnumerable<Grant> grants, IReadOnlyDictionary<string, CompiledPolicy>? policies = null,
        IReadOnlyDictionary<Guid, DateTimeOffset>? disabledUsers = null)
    {
        DisabledUsers = (disabledUsers ?? new Dictionary<Guid, DateTimeOffset>()).ToFrozenDictionary();
        Revision = revision;
        ServersByName = servers.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);
        GrantsByTokenHash = grants.ToFrozenDictionary(g => g.TokenHash, StringComparer.Ordinal);
        PoliciesByName = (policies ?? new Dictionary<string, CompiledPolicy>()).ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Disabled (offboarded) users by id, with when they were disabled.</summary>
    /// <remarks>
    /// Access tokens are validated locally and live a few minutes: this map lets the request path refuse a disabled user's
    /// tokens at the cost of a dictionary lookup, without a database read per request.
    /// </remarks>
    public FrozenDictionary<Guid, DateTimeOffset> DisabledUsers { get; }

    /// <summary>Compiled policies by name.</summary>
    public FrozenDictionary<string, CompiledPolicy> PoliciesByName { get; }

    /// <summary>The policies in force for a grant's calls to a server: the server's default overridden by the grant's.</summary>
    /// <remarks>
    /// Without a grant, the server's policy alone (for <c>policy explain</c>). A policy attached by name but missing
    /// from <see cref="PoliciesByName"/> (it failed to compile, which apply prevents) stands for deny-all, so a broken
    /// policy never opens access.
    /// </remarks>
    public PolicySet PolicyFor(ServerDefinition server, Grant? grant)
    {
        if (server.PolicyName is null && grant?.PolicyName is null)
        {
            return PolicySet.Empty;
        }

        return _policySets.GetOrAdd((server.Id, grant?.Id ?? Guid.Empty), static (_, state) =>
            PolicySet.Compose(state.Self.Resolve(state.Server.PolicyName), state.Self.Resolve(state.Grant?.PolicyName)), (Self: this, Server: server, Grant: grant));
    }

    private CompiledPolicy? Resolve(string? name) =>
        name is null ? null : PoliciesByName.TryGetValue(name, out var policy) ? policy : CompiledPolicy.DenyAll(name);

    /// <summary>The configuration revision this snapshot was built from.</summary>
    public long Revision { get; }

    /// <summary>Servers by name.</summary>
    public FrozenDictionary<string, ServerDefinition> ServersByName { get; }

    /// <summary>Grants (including revoked and expired ones, so their rejection can say why) by token hash.</summary>
    public FrozenDictionary<string, Grant> GrantsByTokenHash { get; }
}

/// <summary>Gives the request path the current <see cref="GatewaySnapshot"/>.</summary>
public interface IGatewaySnapshotSource
{
    /// <summary>The snapshot in force for the next request, reloaded first if the configuration changed.</summary>
    GatewaySnapshot Current { get; }
}
