using System.Security.Cryptography;
using Gatehouse.Core.Security;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Identity.Keys;

/// <summary>
/// The keys of Gatehouse's authorization server: an RSA key that signs access tokens (the proxy checks it) and a symmetric
/// key that encrypts authorization codes and refresh tokens. Created once, stored sealed by the vault, loaded at start.
/// </summary>
/// <remarks>
/// Development certificates or ephemeral keys would invalidate every issued token at each restart and differ between
/// replicas; sealed rows in the database are shared by replicas and re-wrapped by <c>keys rotate</c>.
/// </remarks>
public sealed class AuthorizationServerKeys
{
    private const string SigningPurpose = "signing";
    private const string EncryptionPurpose = "encryption";

    private AuthorizationServerKeys(RsaSecurityKey signing, SymmetricSecurityKey encryption)
    {
        SigningKey = signing;
        EncryptionKey = encryption;
        ValidationKey = new RsaSecurityKey(signing.Rsa.ExportParameters(includePrivateParameters: false)) { KeyId = signing.KeyId };
    }

    /// <summary>Signs access tokens (RS256).</summary>
    public RsaSecurityKey SigningKey { get; }

    /// <summary>The public half of <see cref="SigningKey"/>, for validating access tokens.</summary>
    public RsaSecurityKey ValidationKey { get; }

    /// <summary>Encrypts the tokens only Gatehouse reads (authorization codes, refresh tokens).</summary>
    public SymmetricSecurityKey EncryptionKey { get; }

    /// <summary>Loads the keys, creating and storing them (sealed) on first use.</summary>
    public static async Task<AuthorizationServerKeys> LoadOrCreateAsync(
        GatehouseStorage storage, ISecretProtector protector, TimeProvider time, CancellationToken ct = default)
    {
        await using var db = storage.CreateContext();
        var rows = await db.AuthorizationServerKeys.AsNoTracking().ToListAsync(ct);
        var signing = rows.Where(r => r.Purpose == SigningPurpose).MaxBy(r => r.CreatedAt);
        var encryption = rows.Where(r => r.Purpose == EncryptionPurpose).MaxBy(r => r.CreatedAt);
        if (signing is null || encryption is null)
        {
            if (signing is null)
            {
                using var rsa = RSA.Create(2048);
                signing = NewRow(SigningPurpose, Convert.ToBase64String(rsa.ExportPkcs8PrivateKey()), protector, time);
                db.AuthorizationServerKeys.Add(signing);
            }

            if (encryption is null)
            {
                encryption = NewRow(EncryptionPurpose, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), protector, time);
                db.AuthorizationServerKeys.Add(encryption);
            }

            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                // Another replica created its keys at the same moment: use the stored ones.
                return await LoadOrCreateAsync(storage, protector, time, ct);
            }
        }

        var rsaKey = RSA.Create();
        rsaKey.ImportPkcs8PrivateKey(Convert.FromBase64String(protector.Unprotect(signing.KeySealed)), out _);
        return new AuthorizationServerKeys(
            new RsaSecurityKey(rsaKey) { KeyId = signing.Id },
            new SymmetricSecurityKey(Convert.FromBase64String(protector.Unprotect(encryption.KeySealed))) { KeyId = encryption.Id });
    }

    private static AuthorizationServerKeyRecord NewRow(string purpose, string material, ISecretProtector protector, TimeProvider time) => new()
    {
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
        Purpose = purpose,
        KeySealed = protector.Protect(material),
        CreatedAt = time.GetUtcNow(),
    };
}
