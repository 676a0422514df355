using System.Data.Common;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Vault;

/// <summary>What <see cref="KeyRotation.RotateAsync"/> is asked to do.</summary>
public sealed record KeyRotationOptions
{
    /// <summary>Also replace the master key.</summary>
    public bool NewMasterKey { get; init; }

    /// <summary>The value of <see cref="MasterKey.EnvironmentVariable"/>, or null when the key lives in <c>master.key</c>.</summary>
    public string? MasterKeyEnvironmentValue { get; init; }

    /// <summary>Who rotates, for the audit trail.</summary>
    public string Actor { get; init; } = "cli";

    /// <summary>
    /// Called once every value is re-sealed and verified, just before the commit. A new master key that nobody has
    /// seen yet (<see cref="KeyRotationReport.NewMasterKey"/>) must be shown here: after the commit it is the only key.
    /// </summary>
    public Func<KeyRotationReport, CancellationToken, Task>? BeforeCommit { get; init; }
}

/// <summary>How many sealed values of one column were re-sealed.</summary>
/// <param name="Table">The table.</param>
/// <param name="Column">The column.</param>
/// <param name="Rows">Rows holding at least one sealed value.</param>
/// <param name="Values">Sealed values re-sealed.</param>
public sealed record SealedColumnCount(string Table, string Column, int Rows, int Values);

/// <summary>The outcome of a key rotation.</summary>
public sealed record KeyRotationReport
{
    /// <summary>The data key that now seals every value (active).</summary>
    public required string NewDataKeyId { get; init; }

    /// <summary>The data keys that were retired and deleted.</summary>
    public required IReadOnlyList<string> OldDataKeyIds { get; init; }

    /// <summary>The master key that wraps the new data key.</summary>
    public required string MasterKeyId { get; init; }

    /// <summary>The master key before the rotation (the same as <see cref="MasterKeyId"/> unless it was replaced).</summary>
    public required string PreviousMasterKeyId { get; init; }

    /// <summary>
    /// The new master key (base64) when it was replaced and comes from <see cref="MasterKey.EnvironmentVariable"/>:
    /// Gatehouse keeps no copy, so it must be shown to the operator once. Null otherwise.
    /// </summary>
    public string? NewMasterKey { get; init; }

    /// <summary>The key file written when the master key was replaced and lives in the data directory.</summary>
    public string? MasterKeyFile { get; init; }

    /// <summary>Re-sealed values per column.</summary>
    public required IReadOnlyList<SealedColumnCount> Columns { get; init; }

    /// <summary>True when the master key was replaced.</summary>
    public bool MasterKeyReplaced => MasterKeyId != PreviousMasterKeyId;
}

/// <summary>
/// <c>gatehouse keys rotate</c>: re-seals every stored secret under a new data key (optionally wrapped by a new master
/// key) and deletes the old data keys, in one transaction that commits only when every new value opens.
/// </summary>
/// <remarks>
/// <para>
/// Order, so that no crash leaves a secret unreadable. In one transaction, holding the database's write lock: a new
/// master key kept in the data directory is written to <see cref="MasterKey.PendingFileName"/> (temporary file,
/// rename, mode 0600) and read back; the new data key is added as the only active one; every value in
/// <see cref="SealedColumns"/> is opened with the old keys and sealed under the new one; the old data keys are
/// deleted; the revision is bumped with an audit event; then every stored value is read back and opened with the new
/// data key as unwrapped from its stored row by the master key as read back; and only then the commit. After it, the
/// pending key is installed as <c>master.key</c> (again atomically). A crash before the commit leaves the database
/// as it was; a crash after it is settled by <see cref="MasterKey.Load"/>, which installs the pending key because the
/// database says it is the one in use. A value that cannot be opened aborts everything, naming its table, column and
/// row. A new master key from <see cref="MasterKey.EnvironmentVariable"/> is handed to
/// <see cref="KeyRotationOptions.BeforeCommit"/> instead, since Gatehouse keeps no copy.
/// </para>
/// <para>
/// Running gateways notice through the change stamp: vaults load the new data key on first use (see
/// <see cref="EnvelopeVault"/>). A new master key they cannot know: they must be restarted with it.
/// </para>
/// </remarks>
public static class KeyRotation
{
    /// <summary>The audit action recorded for a rotation.</summary>
    public const string AuditAction = "keys.rotate";

    /// <summary>Rotates the keys of <paramref name="storage"/>.</summary>
    /// <exception cref="InvalidOperationException">A stored value cannot be opened, or the master key opens nothing; nothing was changed.</exception>
    public static async Task<KeyRotationReport> RotateAsync(GatehouseStorage storage, KeyRotationOptions options, TimeProvider time, CancellationToken ct = default)
    {
        await storage.InitializeAsync(ct);
        // Before the transaction: loading may itself take the write lock to settle a rotation that stopped half-way.
        var current = MasterKey.Load(storage.DataDirectory, options.MasterKeyEnvironmentValue);
        var (report, wrapWith) = await RotateInTransactionAsync(storage, current, options, time, ct);
        storage.TouchChangeStamp();
        if (report.MasterKeyFile is not null)
        {
            // Committed: finish regardless of cancellation.
            try
            {
                await using var db = storage.CreateContext();
                await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
                MasterKey.Install(db, storage.DataDirectory, wrapWith);
                await transaction.CommitAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DbException)
            {
                throw new InvalidOperationException(
                    $"The keys were rotated, but {MasterKey.FileName} could not be replaced ({ex.Message}). The new key is in " +
                    $"{MasterKey.PendingFileName}; the next gateway start or CLI command installs it. Do not delete that file.", ex);
            }
        }

        return report;
    }

    private static async Task<(KeyRotationReport Report, MasterKey WrapWith)> RotateInTransactionAsync(
        GatehouseStorage storage, MasterKey current, KeyRotationOptions options, TimeProvider time, CancellationToken ct)
    {
        await using var db = storage.CreateContext();
        // On SQLite this is BEGIN IMMEDIATE: other writers (and EnvelopeVault.Protect) wait until the commit, so no
        // value changes or is sealed under an old key between the reading and the rewriting; key files change only
        // under this lock too (see MasterKey.Load).
        await using var transaction = await db.Database.BeginTransactionAsync(ct);

        var oldRecords = await db.DataKeys.ToListAsync(ct);
        var oldKeys = EnvelopeVault.Unwrap(oldRecords, current);
        if (oldRecords.Count > 0 && oldKeys.Count == 0)
        {
            throw new InvalidOperationException(EnvelopeVault.CannotOpenMessage(current, oldRecords[0].MasterKeyId));
        }

        var wrapWith = current;
        string? printOnce = null;
        string? keyFile = null;
        if (options.NewMasterKey)
        {
            var (generated, text) = MasterKey.Generate();
            if (string.IsNullOrWhiteSpace(options.MasterKeyEnvironmentValue))
            {
                // What is verified below is the key as read back from disk.
                wrapWith = MasterKey.WritePending(storage.DataDirectory, generated);
                keyFile = Path.Combine(storage.DataDirectory, MasterKey.FileName);
            }
            else
            {
                wrapWith = generated;
                printOnce = text;
            }
        }

        var commitStarted = false;
        try
        {
            var newRecord = EnvelopeVault.NewDataKey(wrapWith, time, out var newKey);
            foreach (var old in oldRecords)
            {
                old.Active = false;
            }

            db.DataKeys.Add(newRecord);

            var counts = new List<SealedColumnCount>();
            foreach (var column in SealedColumns.All)
            {
                var (rows, values) = await column.RewriteAsync(db, (row, value) => EnvelopeVault.Seal(newRecord.Id, newKey, OpenOrStop(column, row, value, oldKeys)), ct);
                counts.Add(new SealedColumnCount(column.Table, column.Column, rows, values));
            }

            // Every sealed value now names the new key, so no old one is referenced any more.
            db.DataKeys.RemoveRange(oldRecords);
            var oldIds = oldRecords.Select(r => r.Id).Order(StringComparer.Ordinal).ToList();
            var details = $"data key {(oldIds.Count == 0 ? "(none)" : string.Join(", ", oldIds))} → {newRecord.Id}; {counts.Sum(c => c.Values)} sealed value(s) re-sealed" +
                          (wrapWith.Id != current.Id ? $"; master key {current.Id} → {wrapWith.Id}" : "");
            // The change stamp is touched after the commit (by the caller): touched here, a gateway could reload before it.
            await ConfigurationCommit.SaveAsync(db, time, static () => { }, options.Actor, AuditAction, newRecord.Id, details, ct);

            await VerifyAsync(db, wrapWith, newRecord.Id, ct);

            var report = new KeyRotationReport
            {
                NewDataKeyId = newRecord.Id,
                OldDataKeyIds = oldIds,
                MasterKeyId = wrapWith.Id,
                PreviousMasterKeyId = current.Id,
                NewMasterKey = printOnce,
                MasterKeyFile = keyFile,
                Columns = counts,
            };
            if (options.BeforeCommit is { } beforeCommit)
            {
                await beforeCommit(report, ct);
            }

            commitStarted = true;
            await transaction.CommitAsync(ct);
            return (report, wrapWith);
        }
        catch when (keyFile is not null && !commitStarted)
        {
            // Still under the write lock, before the rollback: the new key protects nothing.
            MasterKey.DiscardPending(storage.DataDirectory, wrapWith);
            throw;
        }
    }

    private static string OpenOrStop(ISealedColumn column, string row, string value, Dictionary<string, byte[]> keys)
    {
        try
        {
            var (keyId, sealedBytes) = EnvelopeVault.Parse(value);
            return keys.TryGetValue(keyId, out var key)
                ? EnvelopeVault.Open(keyId, key, sealedBytes)
                : throw new CryptographicException($"it was sealed with data key {keyId}, which the current master key cannot open or the database no longer holds.");
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException(
                $"Key rotation stopped: the value in {column.Table}.{column.Column}, row {row}, cannot be opened: {ex.Message.TrimEnd('.')}. " +
                "Nothing was changed. Remove or replace that value (e.g. disconnect the connection, or set the header again), then rotate again.", ex);
        }
    }

    /// <summary>
    /// Reads back what the transaction stored: exactly one data key, active, and every sealed value opens with it as
    /// unwrapped from its stored row by the master key that will be in use.
    /// </summary>
    private static async Task VerifyAsync(GatehouseDbContext db, MasterKey masterKey, string newKeyId, CancellationToken ct)
    {
        var stored = await db.DataKeys.AsNoTracking().ToListAsync(ct);
        var keys = EnvelopeVault.Unwrap(stored, masterKey);
        if (stored.Count != 1 || !stored[0].Active || stored[0].Id != newKeyId || !keys.ContainsKey(newKeyId))
        {
            throw new InvalidOperationException("Key rotation stopped: the new data key did not read back as the only active key. Nothing was changed.");
        }

        foreach (var column in SealedColumns.All)
        {
            foreach (var (row, value) in await column.ReadAsync(db, ct))
            {
                OpenOrStop(column, row, value, keys);
            }
        }
    }
}
