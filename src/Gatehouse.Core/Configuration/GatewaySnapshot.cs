using System.Collections.Frozen;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Servers;

namespace Gatehouse.Core.Configuration;

/// <summary>An immutable, indexed view of the configuration that the request path reads without locks.</summary>
/// <remarks>A change builds a new snapshot and publishes it; requests in flight keep the one they started with.</remarks>
public sealed class GatewaySnapshot
{
    /// <summary>An empty snapshot.</summary>
    public static GatewaySnapshot Empty { get; } = new(0, [], []);

    /// <summary>Creates a snapshot.</summary>
    public GatewaySnapshot(long revision, IEnumerable<ServerDefinition> servers, IEnumerable<Grant> grants)
    {
        Revision = revision;
        ServersByName = servers.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);
        GrantsByTokenHash = grants.ToFrozenDictionary(g => g.TokenHash, StringComparer.Ordinal);
    }

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
