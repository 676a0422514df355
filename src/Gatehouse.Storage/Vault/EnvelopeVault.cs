using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Core.Security;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Gatehouse.Storage.Vault;

/// <summary>Envelope encryption of stored secrets: AES-256-GCM under data keys that the master key wraps.</summary>
/// <remarks>
/// <para>
/// A sealed value reads <c>gv1.{dataKeyId}.{base64url(nonce|ciphertext|tag)}</c>; the key id is also bound as
/// associated data, so a value cannot be moved to another key's slot. Rotating the master key re-wraps the few
/// data keys, not every secret. Unwrapped data keys live only in this object's memory.
/// </para>
/// <para>
/// <c>gatehouse keys rotate</c> (<see cref="KeyRotation"/>) may run in another process while this vault is in use.
/// Opening a value under a data key this vault has not seen reads that key from the database once and caches it, so
/// known keys never cost a database read. Sealing asks the database for the active key every time (sealing is rare:
/// an admin change, a token refresh) and waits for a rotation in progress to commit, so a value sealed meanwhile uses
/// the key the rotation leaves active, not one it deletes. Only a whole rotation that starts and commits between
/// <see cref="Protect"/> and the caller's write could still strand that one value.
/// </para>
/// </remarks>
public sealed class EnvelopeVault : ISecretProtector
{
    private const string Prefix = "gv1.";
    private readonly ConcurrentDictionary<string, byte[]> _dataKeys;
    private readonly MasterKey _masterKey;
    private readonly DbContextOptions<GatehouseDbContext> _database;

    // Key ids this vault can never open (deleted, or wrapped by another master key): data key rows are never
    // rewritten, so the answer cannot change, and remembering it keeps a failing value from reading the database
    // on every call.
    private readonly ConcurrentDictionary<string, (string Reason, bool MasterKeyChanged)> _unavailable = new(StringComparer.Ordinal);
    private readonly Lock _loadLock = new();

    private EnvelopeVault(ConcurrentDictionary<string, byte[]> dataKeys, MasterKey masterKey, DbContextOptions<GatehouseDbContext> database)
    {
        _dataKeys = dataKeys;
        _masterKey = masterKey;
        _database = database;
    }

    /// <summary>Loads the data keys the master key can unwrap, creating the first data key when there is none.</summary>
    /// <remarks>The vault later opens contexts of its own on <paramref name="db"/>'s options to load keys it does not know yet.</remarks>
    public static async Task<EnvelopeVault> OpenAsync(GatehouseDbContext db, MasterKey masterKey, TimeProvider time, CancellationToken cancellationToken = default)
    {
        // A GatehouseDbContext is always built from DbContextOptions<GatehouseDbContext> (its only constructor).
        var database = (DbContextOptions<GatehouseDbContext>)db.GetService<IDbContextOptions>();
        var records = await db.DataKeys.AsNoTracking().ToListAsync(cancellationToken);
        var keys = new ConcurrentDictionary<string, byte[]>(Unwrap(records, masterKey), StringComparer.Ordinal);
        if (records.FirstOrDefault(r => r.Active && keys.ContainsKey(r.Id)) is not null)
        {
            return new EnvelopeVault(keys, masterKey, database);
        }

        if (records.Count > 0 && keys.IsEmpty)
        {
            throw new InvalidOperationException(CannotOpenMessage(masterKey, records[0].MasterKeyId));
        }

        foreach (var old in await db.DataKeys.Where(k => k.Active).ToListAsync(cancellationToken))
        {
            old.Active = false;
        }

        var record = NewDataKey(masterKey, time, out var key);
        db.DataKeys.Add(record);
        await db.SaveChangesAsync(cancellationToken);
        keys[record.Id] = key;
        return new EnvelopeVault(keys, masterKey, database);
    }

    /// <inheritdoc />
    /// <remarks>Reads the active key id from the database (see the class remarks); do not call it inside an open write transaction.</remarks>
    public string Protect(string plaintext)
    {
        var keyId = ReadActiveKeyId();
        return Seal(keyId, KeyFor(keyId), plaintext);
    }

    /// <inheritdoc />
    public string Unprotect(string protectedValue)
    {
        var (keyId, sealedBytes) = Parse(protectedValue);
        return Open(keyId, KeyFor(keyId), sealedBytes);
    }

    /// <summary>Creates a data key wrapped by <paramref name="masterKey"/>, active; <paramref name="key"/> is the key itself.</summary>
    internal static DataKeyRecord NewDataKey(MasterKey masterKey, TimeProvider time, out byte[] key)
    {
        var id = "dk-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        key = RandomNumberGenerator.GetBytes(32);
        return new DataKeyRecord { Id = id, WrappedKey = masterKey.Wrap(key, id), MasterKeyId = masterKey.Id, Active = true, CreatedAt = time.GetUtcNow() };
    }

    /// <summary>The data keys among <paramref name="records"/> that <paramref name="masterKey"/> can unwrap, by id.</summary>
    internal static Dictionary<string, byte[]> Unwrap(IEnumerable<DataKeyRecord> records, MasterKey masterKey)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (masterKey.TryUnwrap(record.WrappedKey, record.Id, out var key))
            {
                keys[record.Id] = key;
            }
        }

        return keys;
    }

    /// <summary>What to tell the operator when the master key opens none of the vault's data keys.</summary>
    internal static string CannotOpenMessage(MasterKey masterKey, string storedMasterKeyId) =>
        $"The master key ({masterKey.Id}) cannot open this database's vault, which was sealed with {storedMasterKeyId}. " +
        $"Restore the original {MasterKey.FileName} file or {MasterKey.EnvironmentVariable} (after 'gatehouse keys rotate --new-master-key', " +
        "the key it printed or wrote); nothing was changed.";

    /// <summary>Seals <paramref name="plaintext"/> under the given data key.</summary>
    internal static string Seal(string keyId, byte[] key, string plaintext)
    {
        var sealedBytes = AeadBox.Seal(key, Encoding.UTF8.GetBytes(plaintext), Encoding.UTF8.GetBytes(keyId));
        return $"{Prefix}{keyId}.{Base64Url.EncodeToString(sealedBytes)}";
    }

    /// <summary>Splits a sealed value into its data key id and sealed bytes.</summary>
    /// <exception cref="CryptographicException">The value is not a well-formed sealed value.</exception>
    internal static (string KeyId, byte[] SealedBytes) Parse(string protectedValue)
    {
        if (!protectedValue.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new CryptographicException("The stored value is not sealed by the Gatehouse vault.");
        }

        var rest = protectedValue.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0)
        {
            throw new CryptographicException("The stored value is damaged: it has no key id.");
        }

        try
        {
            return (rest[..dot].ToString(), Base64Url.DecodeFromChars(rest[(dot + 1)..]));
        }
        catch (FormatException ex)
        {
            throw new CryptographicException("The stored value is damaged.", ex);
        }
    }

    /// <summary>Opens sealed bytes with the data key they name.</summary>
    /// <exception cref="CryptographicException">The integrity check failed.</exception>
    internal static string Open(string keyId, byte[] key, byte[] sealedBytes) =>
        AeadBox.TryOpen(key, sealedBytes, Encoding.UTF8.GetBytes(keyId), out var plain)
            ? Encoding.UTF8.GetString(plain)
            : throw new CryptographicException("The stored value failed its integrity check (tampered with, or sealed under another key).");

    private byte[] KeyFor(string keyId) => _dataKeys.TryGetValue(keyId, out var key) ? key : LoadKey(keyId);

    /// <summary>Loads a data key created after this vault was opened (by a key rotation in another process).</summary>
    private byte[] LoadKey(string keyId)
    {
        lock (_loadLock)
        {
            if (_dataKeys.TryGetValue(keyId, out var loaded))
            {
                return loaded;
            }

            if (!_unavailable.TryGetValue(keyId, out var unavailable))
            {
                using var db = new GatehouseDbContext(_database);
                var record = db.DataKeys.AsNoTracking().FirstOrDefault(k => k.Id == keyId);
                if (record is not null && _masterKey.TryUnwrap(record.WrappedKey, record.Id, out var key))
                {
                    _dataKeys[keyId] = key;
                    return key;
                }

                unavailable = record is null
                    ? ($"The stored value was sealed with data key {keyId}, which this database no longer holds.", false)
                    : ($"The stored value was sealed with data key {keyId}, wrapped by master key {record.MasterKeyId}, but this process runs with " +
                      $"master key {_masterKey.Id}: restart it with the new master key (see 'gatehouse keys rotate --new-master-key').", true);
                _unavailable[keyId] = unavailable;
            }

            throw unavailable.MasterKeyChanged ? new MasterKeyChangedException(unavailable.Reason) : new CryptographicException(unavailable.Reason);
        }
    }

    private string ReadActiveKeyId()
    {
        using var db = new GatehouseDbContext(_database);
        // On SQLite this is BEGIN IMMEDIATE: it waits until a key rotation in progress has committed, so the key read
        // here is the one that rotation left active, never one it is deleting.
        using var transaction = db.Database.BeginTransaction();
        var id = db.DataKeys.AsNoTracking().Where(k => k.Active).Select(k => k.Id).FirstOrDefault();
        transaction.Commit();
        return id ?? throw new CryptographicException("The vault has no active data key; restart Gatehouse to create one.");
    }
}
