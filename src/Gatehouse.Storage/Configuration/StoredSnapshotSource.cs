using Gatehouse.Core.Configuration;

namespace Gatehouse.Storage.Configuration;

/// <summary>
/// Serves the current <see cref="GatewaySnapshot"/> and reloads it when the configuration changes, so a change
/// made by the CLI in another process is in force on the gateway's next request.
/// </summary>
/// <remarks>
/// Every writer touches the change stamp file after committing. Checking its modification time is one stat call,
/// cheap enough for every request and exact: no polling window in which a revoked grant still works. A periodic
/// revision check (<see cref="ReloadIfRevisionChanged"/>) catches a writer that died between commit and stamp.
/// </remarks>
public sealed class StoredSnapshotSource : IGatewaySnapshotSource
{
    // One FileInfo per thread, re-stat'ed with Refresh(): a FileInfo is not thread-safe, and building a new one per
    // request would allocate it and normalise the path again on the hot path, only to make the same single stat call.
    [ThreadStatic]
    private static FileInfo? t_stamp;

    private readonly GatehouseStorage _storage;
    private readonly string _stampPath;
    private readonly Lock _reloadLock = new();
    private volatile GatewaySnapshot _current;
    private long _stampTicks;

    /// <summary>Loads the first snapshot.</summary>
    public StoredSnapshotSource(GatehouseStorage storage)
    {
        _storage = storage;
        _stampPath = Path.GetFullPath(storage.ChangeStampPath);
        _stampTicks = ReadStampTicks();
        _current = LoadFromDatabase();
    }

    /// <inheritdoc />
    public GatewaySnapshot Current
    {
        get
        {
            var stamp = ReadStampTicks();
            if (stamp != Interlocked.Read(ref _stampTicks))
            {
                lock (_reloadLock)
                {
                    if (stamp != Interlocked.Read(ref _stampTicks))
                    {
                        _current = LoadFromDatabase();
                        Interlocked.Exchange(ref _stampTicks, stamp);
                    }
                }
            }

            return _current;
        }
    }

    /// <summary>Reloads now (after a change made in this process).</summary>
    public void Reload()
    {
        lock (_reloadLock)
        {
            _current = LoadFromDatabase();
            Interlocked.Exchange(ref _stampTicks, ReadStampTicks());
        }
    }

    /// <summary>Reloads when the stored revision differs from the snapshot's; returns true when it did.</summary>
    public bool ReloadIfRevisionChanged()
    {
        using var db = _storage.CreateContext();
        var revision = db.ConfigRevisions.Select(r => r.Revision).FirstOrDefault();
        if (revision == _current.Revision)
        {
            return false;
        }

        Reload();
        return true;
    }

    private GatewaySnapshot LoadFromDatabase()
    {
        using var db = _storage.CreateContext();
        return SnapshotLoader.Load(db);
    }

    private long ReadStampTicks()
    {
        var info = t_stamp;
        if (info is null || !string.Equals(info.FullName, _stampPath, StringComparison.Ordinal))
        {
            // First use on this thread, or another data directory (tests host several in one process).
            info = t_stamp = new FileInfo(_stampPath);
        }
        else
        {
            // Still one stat per call: exactness (a revoked grant fails on the very next request) depends on it.
            info.Refresh();
        }

        return info.Exists ? info.LastWriteTimeUtc.Ticks ^ info.Length : 0;
    }
}
