using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.UpstreamAuth.Connections;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>A user's own connections to per-user servers, over the vault's (server, owner) rows.</summary>
public sealed class UserConnections(ConnectFlows flows, UpstreamAuthServices services, IUserConnectLinks links) : IUserConnections
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<UserConnectionView>> ListAsync(string userId, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        var servers = (await db.Servers.AsNoTracking().Where(s => s.OAuthJson != null).ToListAsync(ct))
            .Select(SnapshotLoader.ToDomain)
            .Where(s => s is { AuthMode: UpstreamAuthMode.OAuth, OAuth.PerUser: true })
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        var kind = new ConnectionOwner(ConnectionOwnerKind.User, userId).KindName;
        var rows = await db.UpstreamConnections.AsNoTracking().Where(c => c.OwnerKind == kind && c.OwnerId == userId).ToDictionaryAsync(c => c.ServerId, ct);
        return servers.Select(server =>
        {
            var row = rows.GetValueOrDefault(server.Id);
            var status = ConnectionStatusNames.Parse(row?.Status);
            return new UserConnectionView(
                server.Name, status.ToName(), row?.Issuer, row?.Scopes, status == ConnectionStatus.Connected ? row?.AccessTokenExpiresAt : null,
                server.OAuth!.Grant == UpstreamOAuthGrant.AuthorizationCode ? links.Create(server, userId) : null);
        }).ToList();
    }

    /// <summary>
    /// Every connection <paramref name="userId"/> owns, revoked at its provider (RFC 7009) before its tokens are cleared
    /// from the vault (offboarding); one line per connection.
    /// </summary>
    public static async Task<IReadOnlyList<string>> DisconnectAllAsync(GatehouseDbContext db, ConnectFlows flows, Guid userId, string actor, CancellationToken ct)
    {
        string[] ownerIds = [userId.ToString(), userId.ToString("N")];
        var rows = await db.UpstreamConnections.AsNoTracking()
            .Where(c => c.OwnerKind == "user" && ownerIds.Contains(c.OwnerId))
            .Join(db.Servers.AsNoTracking(), c => c.ServerId, s => s.Id, (c, s) => new { c.OwnerId, Server = s })
            .ToListAsync(ct);
        var cut = new List<string>();
        foreach (var row in rows)
        {
            var server = SnapshotLoader.ToDomain(row.Server);
            var report = await flows.DisconnectAsync(server, new ConnectionOwner(ConnectionOwnerKind.User, row.OwnerId), actor, ct);
            cut.Add($"{server.Name}: {report?.Detail ?? "already gone"}");
        }

        return cut;
    }

    /// <inheritdoc />
    public async Task<bool> DisconnectAsync(string server, string userId, string actor, CancellationToken ct)
    {
        if (await flows.FindServerAsync(server, ct) is not { OAuth.PerUser: true } definition)
        {
            return false;
        }

        return await flows.DisconnectAsync(definition, new ConnectionOwner(ConnectionOwnerKind.User, userId), actor, ct) is not null;
    }
}
