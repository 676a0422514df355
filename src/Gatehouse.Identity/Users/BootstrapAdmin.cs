using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Identity.Users;

/// <summary>The local bootstrap admin as a user: the person who signs in on the login page with the admin token.</summary>
public static class BootstrapAdmin
{
    /// <summary>The user kind of the bootstrap admin.</summary>
    public const string Kind = "bootstrap-admin";

    /// <summary>The bootstrap admin's user row, created on first sign-in.</summary>
    public static async Task<UserRecord> EnsureAsync(GatehouseDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (await db.Users.FirstOrDefaultAsync(u => u.Kind == Kind, ct) is { } existing)
        {
            return existing;
        }

        var user = new UserRecord { Id = Guid.NewGuid(), Kind = Kind, DisplayName = "admin", CreatedAt = time.GetUtcNow() };
        db.Users.Add(user);
        db.AuditEvents.Add(new AuditEventRecord { At = user.CreatedAt, Actor = "login", Action = "user.create", Target = $"user:{user.Id:N} (bootstrap admin)" });
        await db.SaveChangesAsync(ct);
        return user;
    }
}
