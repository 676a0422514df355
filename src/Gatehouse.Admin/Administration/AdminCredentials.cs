using Gatehouse.Core.Security;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Admin.Administration;

/// <summary>The admin API credential: created on first run, stored as a hash, kept readable for the operator in a 0600 file.</summary>
public static class AdminCredentials
{
    /// <summary>Prefix of admin tokens.</summary>
    public const string Prefix = "gta_";

    /// <summary>The file in the data directory that holds the admin token for the operator (mode 0600).</summary>
    public const string FileName = "admin.token";

    /// <summary>Creates the admin credential when none exists; returns the new token, or null when one already existed.</summary>
    public static async Task<string?> EnsureAsync(GatehouseStorage storage, TimeProvider time, CancellationToken ct = default)
    {
        await using var db = storage.CreateContext();
        if (await db.AdminCredentials.AnyAsync(ct))
        {
            OwnerOnlyFiles.TightenIfPresent(Path.Combine(storage.DataDirectory, FileName));
            return null;
        }

        return await CreateAsync(storage, db, time, ct);
    }

    /// <summary>Replaces every admin credential with a new one and returns its token.</summary>
    public static async Task<string> ResetAsync(GatehouseStorage storage, TimeProvider time, CancellationToken ct = default)
    {
        await using var db = storage.CreateContext();
        db.AdminCredentials.RemoveRange(db.AdminCredentials);
        db.AuditEvents.Add(new AuditEventRecord { At = time.GetUtcNow(), Actor = "cli", Action = "admin.token.reset", Target = "admin" });
        return await CreateAsync(storage, db, time, ct);
    }

    /// <summary>True when <paramref name="authorization"/> carries a valid admin token.</summary>
    public static async Task<bool> VerifyAsync(GatehouseDbContext db, string? authorization, CancellationToken ct)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var token = authorization[scheme.Length..].Trim();
        if (!SecretToken.IsWellFormed(token, Prefix))
        {
            return false;
        }

        var hash = SecretToken.Hash(token);
        return await db.AdminCredentials.AnyAsync(a => a.TokenHash == hash, ct);
    }

    private static async Task<string> CreateAsync(GatehouseStorage storage, GatehouseDbContext db, TimeProvider time, CancellationToken ct)
    {
        var token = SecretToken.Create(Prefix);
        db.AdminCredentials.Add(new AdminCredentialRecord { Id = Guid.NewGuid(), TokenHash = SecretToken.Hash(token), CreatedAt = time.GetUtcNow() });
        await db.SaveChangesAsync(ct);

        var path = Path.Combine(storage.DataDirectory, FileName);
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new FileStream(path, options))
        await using (var writer = new StreamWriter(file))
        {
            await writer.WriteLineAsync(token);
        }

        return token;
    }
}
