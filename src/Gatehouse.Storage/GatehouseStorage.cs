using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>Where Gatehouse keeps its state, and how to open it.</summary>
public sealed class GatehouseStorage
{
    /// <summary>The file name of the embedded SQLite database inside the data directory.</summary>
    public const string DatabaseFileName = "gatehouse.db";

    /// <summary>Name of the file whose modification tells running gateways that the configuration changed.</summary>
    public const string ChangeStampFileName = "config.stamp";

    /// <summary>Creates the storage description for a data directory.</summary>
    public GatehouseStorage(string dataDirectory)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataDirectory, DatabaseFileName),
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The absolute data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The SQLite connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>Path of the change stamp file.</summary>
    public string ChangeStampPath => Path.Combine(DataDirectory, ChangeStampFileName);

    /// <summary>Options for a context on this storage.</summary>
    public DbContextOptions<GatehouseDbContext> CreateOptions() =>
        new DbContextOptionsBuilder<GatehouseDbContext>().UseSqlite(ConnectionString).Options;

    /// <summary>Opens a new context.</summary>
    public GatehouseDbContext CreateContext() => new(CreateOptions());

    /// <summary>
    /// Problems with the data directory's permissions that Gatehouse could not fix (it tightens what it owns), for the
    /// caller to show; empty when the directory is 0700 and its database files 0600.
    /// </summary>
    public IReadOnlyList<string> PermissionWarnings { get; private set; } = [];

    /// <summary>
    /// Creates the data directory (0700; an existing one loses group and other access) and the database (0600, and
    /// with it SQLite's -wal and -shm files), then brings the schema up to date (migrations), in WAL mode for
    /// concurrent readers.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var database = Path.Combine(DataDirectory, DatabaseFileName);
        PermissionWarnings = new[]
            {
                OwnerOnlyFiles.EnsureDirectory(DataDirectory),
                OwnerOnlyFiles.EnsureFile(database),
                OwnerOnlyFiles.TightenIfPresent(database + "-wal"),
                OwnerOnlyFiles.TightenIfPresent(database + "-shm"),
            }
            .OfType<string>()
            .ToList();
        await using var db = CreateContext();
        await db.Database.MigrateAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    /// <summary>Tells running gateways (which compare the stamp file's modification time) that the configuration changed.</summary>
    /// <remarks>
    /// The kernel stamps writes with a coarse clock (one tick, a few milliseconds), so two changes within a tick could
    /// leave the same time. The time is therefore set explicitly from the precise clock and moved past the previous
    /// one when needed, so every change gives a time a gateway has not seen.
    /// </remarks>
    public void TouchChangeStamp()
    {
        var previous = File.Exists(ChangeStampPath) ? File.GetLastWriteTimeUtc(ChangeStampPath) : DateTime.MinValue;
        File.WriteAllText(ChangeStampPath, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var now = DateTime.UtcNow;
        File.SetLastWriteTimeUtc(ChangeStampPath, now > previous ? now : previous.AddTicks(10));
    }
}
