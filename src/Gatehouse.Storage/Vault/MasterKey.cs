using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Vault;

/// <summary>The root key: it wraps the vault's data keys and derives the session ticket key. It never leaves memory.</summary>
public sealed class MasterKey
{
    /// <summary>Environment variable that supplies the master key (base64 of 32 bytes) instead of the key file.</summary>
    public const string EnvironmentVariable = "GATEHOUSE_MASTER_KEY";

    /// <summary>Name of the key file created in the data directory on first run.</summary>
    public const string FileName = "master.key";

    /// <summary>Where a master-key rotation keeps the new key until its database transaction has committed.</summary>
    public const string PendingFileName = "master.key.new";

    private readonly byte[] _key;

    private MasterKey(byte[] key)
    {
        _key = key;
        Id = "mk-" + Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 6));
    }

    /// <summary>A short fingerprint recorded beside everything this key wraps.</summary>
    public string Id { get; }

    /// <summary>Creates a master key from raw bytes (tests).</summary>
    public static MasterKey FromBytes(ReadOnlySpan<byte> key) =>
        key.Length == 32 ? new MasterKey(key.ToArray()) : throw new ArgumentException("A master key is 32 bytes.", nameof(key));

    /// <summary>
    /// Loads the master key from <see cref="EnvironmentVariable"/> when set, else from <c>master.key</c> in the data
    /// directory, creating that file (mode 0600) on first run.
    /// </summary>
    /// <remarks>
    /// <c>gatehouse keys rotate --new-master-key</c> writes the new key to <see cref="PendingFileName"/> inside its
    /// database transaction and installs it as <c>master.key</c> after the commit. When <see cref="PendingFileName"/>
    /// is found here, the database decides: if its active data key is wrapped by the pending key (a crash fell between
    /// commit and install), the install is finished and that key used; if it uses another key, the pending file is
    /// from a rotation that never committed, protects nothing, and is removed. Every change to the key files happens
    /// under the database's write lock, so a rotation and a starting gateway never race on them.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The variable or file does not hold a valid key; the message says how to fix it.</exception>
    public static MasterKey Load(string dataDirectory, string? environmentValue)
    {
        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            return Parse(environmentValue, $"the {EnvironmentVariable} environment variable");
        }

        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(Path.Combine(dataDirectory, PendingFileName)))
        {
            FinishInterruptedRotation(dataDirectory);
        }

        if (File.Exists(path))
        {
            // A key file copied in (or made by hand) with a loose mode is tightened: it opens every stored secret.
            OwnerOnlyFiles.TightenIfPresent(path);
            return Parse(File.ReadAllText(path), path);
        }

        var key = RandomNumberGenerator.GetBytes(32);
        OwnerOnlyFiles.EnsureDirectory(dataDirectory);
        WriteOwnerOnly(path, key);
        return new MasterKey(key);
    }

    /// <summary>A new random master key and its text form (base64, as <see cref="EnvironmentVariable"/> takes it).</summary>
    internal static (MasterKey Key, string Text) Generate()
    {
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        return (Parse(text, "the generated key"), text);
    }

    /// <summary>
    /// Writes <paramref name="key"/> to <see cref="PendingFileName"/> (temporary file, then rename; mode 0600) and
    /// returns the key as read back. Call with the database's write lock held.
    /// </summary>
    internal static MasterKey WritePending(string dataDirectory, MasterKey key)
    {
        var pendingPath = Path.Combine(dataDirectory, PendingFileName);
        WriteAtomically(pendingPath, key);
        return Parse(File.ReadAllText(pendingPath), pendingPath);
    }

    /// <summary>
    /// Makes <paramref name="key"/> the content of <c>master.key</c> when the database's active data key is wrapped
    /// by it, and removes a pending file holding it. Call with the database's write lock held (<paramref name="db"/>
    /// in a transaction). Returns false when the database uses another key (a later rotation replaced it).
    /// </summary>
    internal static bool Install(GatehouseDbContext db, string dataDirectory, MasterKey key)
    {
        if (ActiveMasterKeyId(db) != key.Id)
        {
            return false;
        }

        var path = Path.Combine(dataDirectory, FileName);
        if (ReadIfPresent(path)?.Id != key.Id)
        {
            WriteAtomically(path, key);
        }

        DiscardPending(dataDirectory, key);
        return true;
    }

    /// <summary>Removes <see cref="PendingFileName"/> when it holds <paramref name="key"/>. Call with the database's write lock held.</summary>
    internal static void DiscardPending(string dataDirectory, MasterKey key)
    {
        var pendingPath = Path.Combine(dataDirectory, PendingFileName);
        if (ReadIfPresent(pendingPath)?.Id == key.Id)
        {
            File.Delete(pendingPath);
        }
    }

    /// <summary>Derives a purpose-bound 256-bit key (HKDF-SHA256). Done once at start-up, never per request.</summary>
    public byte[] DeriveKey(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, 32, salt: [], info: Encoding.UTF8.GetBytes("gatehouse/" + purpose));

    internal byte[] Wrap(ReadOnlySpan<byte> dataKey, string dataKeyId) => AeadBox.Seal(_key, dataKey, Encoding.UTF8.GetBytes(dataKeyId));

    internal bool TryUnwrap(byte[] wrapped, string dataKeyId, out byte[] dataKey) =>
        AeadBox.TryOpen(_key, wrapped, Encoding.UTF8.GetBytes(dataKeyId), out dataKey);

    private static MasterKey Parse(string text, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        return key.Length == 32
            ? new MasterKey(key)
            : throw new InvalidOperationException($"The master key in {source} is not valid: it must be 32 random bytes in base64 (e.g. the output of 'openssl rand -base64 32').");
    }

    private static void WriteOwnerOnly(string path, byte[] key)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
        // On disk before anything is sealed under it.
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Replaces <paramref name="path"/> with the key in one step: a reader sees the old file or the new one, never a part.</summary>
    private static void WriteAtomically(string path, MasterKey key)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        WriteOwnerOnly(temporary, key._key);
        File.Move(temporary, path, overwrite: true);
    }

    private static MasterKey? ReadIfPresent(string path) => File.Exists(path) ? Parse(File.ReadAllText(path), path) : null;

    private static string? ActiveMasterKeyId(GatehouseDbContext db) =>
        db.DataKeys.AsNoTracking().Where(k => k.Active).Select(k => k.MasterKeyId).FirstOrDefault();

    /// <summary>Settles a <see cref="PendingFileName"/> left by a rotation that stopped (see <see cref="Load"/>).</summary>
    private static void FinishInterruptedRotation(string dataDirectory)
    {
        var storage = new GatehouseStorage(dataDirectory);
        if (!File.Exists(Path.Combine(storage.DataDirectory, GatehouseStorage.DatabaseFileName)))
        {
            return;
        }

        using var db = storage.CreateContext();
        // On SQLite BEGIN IMMEDIATE: the write lock under which key files change; a rotation in progress finishes first.
        using var transaction = db.Database.BeginTransaction();
        string? active;
        try
        {
            active = ActiveMasterKeyId(db);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // No data_keys table yet: nothing was ever sealed, so there is nothing to decide.
            return;
        }

        var pendingPath = Path.Combine(dataDirectory, PendingFileName);
        if (ReadIfPresent(pendingPath) is not { } pending)
        {
            return;
        }

        if (active == pending.Id)
        {
            Install(db, dataDirectory, pending);
        }
        else if (active is not null)
        {
            File.Delete(pendingPath);
        }

        transaction.Commit();
    }
}
