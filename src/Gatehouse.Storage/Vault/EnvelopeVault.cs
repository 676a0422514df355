using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Core.Security;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Vault;

/// <summary>Envelope encryption of stored secrets: AES-256-GCM under data keys that the master key wraps.</summary>
/// <remarks>
/// A sealed value reads <c>gv1.{dataKeyId}.{base64url(nonce|ciphertext|tag)}</c>; the key id is also bound as
/// associated data, so a value cannot be moved to another key's slot. Rotating the master key re-wraps the few
/// data keys, not every secret. Unwrapped data keys live only in this object's memory.
/// </remarks>
public sealed class EnvelopeVault : ISecretProtector
{
    private const string Prefix = "gv1.";
    private readonly ConcurrentDictionary<string, byte[]> _dataKeys;
    private readonly string _activeKeyId;

    private EnvelopeVault(ConcurrentDictionary<string, byte[]> dataKeys, string activeKeyId)
    {
        _dataKeys = dataKeys;
        _activeKeyId = activeKeyId;
    }

    /// <summary>Loads the data keys the master key can unwrap, creating the first data key when there is none.</summary>
    public static async Task<EnvelopeVault> OpenAsync(GatehouseDbContext db, MasterKey masterKey, TimeProvider time, CancellationToken cancellationToken = default)
    {
        var records = await db.DataKeys.AsNoTracking().ToListAsync(cancellationToken);
        var keys = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (masterKey.TryUnwrap(record.WrappedKey, record.Id, out var key))
            {
                keys[record.Id] = key;
            }
        }

        var active = records.FirstOrDefault(r => r.Active && keys.ContainsKey(r.Id));
        if (active is null)
        {
            if (records.Count > 0 && keys.IsEmpty)
            {
                throw new InvalidOperationException(
                    $"The master key ({masterKey.Id}) cannot open this database's vault, which was sealed with {records[0].MasterKeyId}. " +
                    $"Restore the original {MasterKey.FileName} file or {MasterKey.EnvironmentVariable}; nothing was changed.");
            }

            var id = "dk-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var key = RandomNumberGenerator.GetBytes(32);
            foreach (var old in await db.DataKeys.Where(k => k.Active).ToListAsync(cancellationToken))
            {
                old.Active = false;
            }

            db.DataKeys.Add(new DataKeyRecord { Id = id, WrappedKey = masterKey.Wrap(key, id), MasterKeyId = masterKey.Id, Active = true, CreatedAt = time.GetUtcNow() });
            await db.SaveChangesAsync(cancellationToken);
            keys[id] = key;
            return new EnvelopeVault(keys, id);
        }

        return new EnvelopeVault(keys, active.Id);
    }

    /// <inheritdoc />
    public string Protect(string plaintext)
    {
        var sealedBytes = AeadBox.Seal(_dataKeys[_activeKeyId], Encoding.UTF8.GetBytes(plaintext), Encoding.UTF8.GetBytes(_activeKeyId));
        return $"{Prefix}{_activeKeyId}.{Base64Url.EncodeToString(sealedBytes)}";
    }

    /// <inheritdoc />
    public string Unprotect(string protectedValue)
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

        var keyId = rest[..dot].ToString();
        if (!_dataKeys.TryGetValue(keyId, out var key))
        {
            throw new CryptographicException($"The stored value was sealed with data key {keyId}, which the current master key cannot open.");
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(rest[(dot + 1)..]);
        }
        catch (FormatException ex)
        {
            throw new CryptographicException("The stored value is damaged.", ex);
        }

        return AeadBox.TryOpen(key, sealedBytes, Encoding.UTF8.GetBytes(keyId), out var plain)
            ? Encoding.UTF8.GetString(plain)
            : throw new CryptographicException("The stored value failed its integrity check (tampered with, or sealed under another key).");
    }
}
