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

    // Composed sets are memoised per (server, user, grant): composing precomputes quota lists and versions, and a
    // snapshot never changes, so each combination is composed once per configuration revision.
    private readonly ConcurrentDictionary<(Guid Server, Guid User, Guid Grant), PolicySet> _policySets = new();

    // Only the users some group or user policy applies to, with just those groups (sorted), so that the common request,
    // whose caller has none, costs one failed lookup.
    private readonly FrozenDictionary<Guid, (string? PolicyName, string[] PolicyGroups)> _userLayers;

    /// <summary>Creates a snapshot.</summary>
    /// <param name="revision">The configuration revision.</param>
    /// <param name="servers">Every server.</param>
    /// <param name="grants">Every grant.</param>
    /// <param name="policies">Compiled policies by name (a policy that failed to compile is absent and fails closed).</param>
    /// <param name="disabledUsers">Users who may no longer use Gatehouse, with when they were disabled.</param>
    /// <param name="users">Users with their groups and policy (users with neither may be left out).</param>
    /// <param name="groupPolicies">The policy name attached to each group that has one.</param>
    /// <param name="revokedAccessTokens">Ids of Gatehouse access tokens revoked before they expire.</param>
    public GatewaySnapshot(
        long revision, IEnumerable<ServerDefinition> servers, IEnumerable<Grant> grants, IReadOnlyDictionary<string, CompiledPolicy>? policies = null,
        IReadOnlyDictionary<Guid, DateTimeOffset>? disabledUsers = null, IEnumerable<GatewayUser>? users = null,
        IReadOnlyDictionary<string, string>? groupPolicies = null, IEnumerable<string>? revokedAccessTokens = null)
    {
        RevokedAccessTokens = (revokedAccessTokens ?? []).ToFrozenSet(StringComparer.Ordinal);
        UsersById = (users ?? []).ToFrozenDictionary(u => u.Id);
        GroupPolicies = (groupPolicies ?? new Dictionary<string, string>()).ToFrozenDictionary(StringComparer.Ordinal);
        _userLayers = UsersById.Values
            .Select(u => (u.Id, u.PolicyName, PolicyGroups: u.Groups.Where(GroupPolicies.ContainsKey).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray()))
            .Where(u => u.PolicyName is not null || u.PolicyGroups.Length > 0)
            .ToFrozenDictionary(u => u.Id, u => (u.PolicyName, u.PolicyGroups));
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

    /// <summary>
    /// Ids (<c>oi_tkn_id</c>) of Gatehouse access tokens that were revoked while still unexpired: their approval was
    /// withdrawn, their refresh token was replayed (the whole family is revoked), or the client revoked them (RFC 7009).
    /// </summary>
    /// <remarks>Like <see cref="DisabledUsers"/>, it lets the request path refuse them at once without a database read.</remarks>
    public FrozenSet<string> RevokedAccessTokens { get; }

    /// <summary>Compiled policies by name.</summary>
    public FrozenDictionary<string, CompiledPolicy> PoliciesByName { get; }

    /// <summary>Users by id, with their groups and policy.</summary>
    public FrozenDictionary<Guid, GatewayUser> UsersById { get; }

    /// <summary>The policy name attached to each group, by group name (ordinal, as the identity provider spells it).</summary>
    public FrozenDictionary<string, string> GroupPolicies { get; }

    /// <summary>
    /// The policies in force for a call to a server, least specific first: the server's, those of the user's groups, the
    /// user's, the grant's.
    /// </summary>
    /// <param name="server">The server called.</param>
    /// <param name="grant">The grant making the call, if any. Its owner is the user whose policies apply; an organisation
    /// grant (no owner) gets no user or group policy, and <paramref name="user"/> is then ignored.</param>
    /// <param name="user">The user calling without a grant (a Gatehouse access token).</param>
    /// <remarks>
    /// Without a grant or user, the server's policy alone (for <c>policy explain</c>). A policy attached by name but missing
    /// from <see cref="PoliciesByName"/> (it failed to compile, which apply prevents) stands for deny-all, so a broken
    /// policy never opens access.
    /// </remarks>
    public PolicySet PolicyFor(ServerDefinition server, Grant? grant, Guid? user = null)
    {
        var person = grant is null ? user : grant.OwnerUserId;
        var hasUserLayers = person is { } id && _userLayers.ContainsKey(id);
        if (server.PolicyName is null && grant?.PolicyName is null && !hasUserLayers)
        {
            return PolicySet.Empty;
        }

        return _policySets.GetOrAdd((server.Id, hasUserLayers ? person!.Value : Guid.Empty, grant?.Id ?? Guid.Empty), static (key, state) =>
        {
            var self = state.Self;
            var (userPolicy, groups) = self._userLayers.TryGetValue(key.User, out var layers) ? layers : (null, []);
            return PolicySet.Compose(
                self.Resolve(state.Server.PolicyName),
                groups.Select(g => (g, self.Resolve(self.GroupPolicies[g])!)),
                userPolicy is null ? null : (key.User, self.Resolve(userPolicy)!),
                self.Resolve(state.Grant?.PolicyName));
        }, (Self: this, Server: server, Grant: grant));
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
