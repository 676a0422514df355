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
        db.AuditEvents.Add(new AuditEventRecord { At = time.GetUtcNow(), Actor = actor, Action = action, Target = target, Details = details });
        await SaveUnauditedAsync(db, onChanged, ct);
    }

    /// <summary>
    /// Bumps the revision and saves without an audit event: the first step of a change made in several steps whose single
    /// audit event is written by its last <see cref="SaveAsync"/> (offboarding a user takes effect before the rest is cut).
    /// </summary>
    public static async Task SaveUnauditedAsync(GatehouseDbContext db, Action onChanged, CancellationToken ct)
    {
        var revision = await db.ConfigRevisions.FirstAsync(ct);
        revision.Revision++;
        await db.SaveChangesAsync(ct);
        onChanged();
    }
}
