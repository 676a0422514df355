using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>How every configuration change is saved: revision bump, audit event and signal, together.</summary>
public static class ConfigurationCommit
{
    /// <summary>
    /// Bumps the configuration revision and writes the audit event in the same transaction as the pending change, then
    /// signals running gateways (after the commit, so they reload what was saved).
    /// </summary>
    public static async Task SaveAsync(GatehouseDbContext db, TimeProvider time, Action onChanged, string actor, string action, string target, string? details, CancellationToken ct)
    {
        var revision = await db.ConfigRevisions.FirstAsync(ct);
        revision.Revision++;
        db.AuditEvents.Add(new AuditEventRecord { At = time.GetUtcNow(), Actor = actor, Action = action, Target = target, Details = details });
        await db.SaveChangesAsync(ct);
        onChanged();
    }
}
