using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Configuration;

/// <summary>
/// Tells running gateways that something their snapshot holds changed outside an admin command: a Gatehouse token was
/// revoked (its id joins the snapshot's revoked set), so every gateway reloads before the next request it serves.
/// </summary>
/// <param name="storage">The database whose revision is bumped (other replicas see it on their next poll).</param>
/// <param name="notify">Signals gateways on this machine at once (the change stamp; in a gateway also its own reload).</param>
public sealed class ConfigurationChanges(GatehouseStorage storage, Action notify)
{
    /// <summary>Bumps the configuration revision on a connection of its own (nothing pending elsewhere is saved) and signals.</summary>
    public async Task BumpAsync(CancellationToken ct)
    {
        await using (var db = storage.CreateContext())
        {
            await db.ConfigRevisions.ExecuteUpdateAsync(set => set.SetProperty(r => r.Revision, r => r.Revision + 1), ct);
        }

        notify();
    }

    /// <summary>Signals after a change saved with its own revision bump (<see cref="ConfigurationCommit"/>).</summary>
    public void Notify() => notify();
}
