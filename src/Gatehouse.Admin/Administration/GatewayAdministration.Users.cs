using Gatehouse.Core.Security;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Admin.Administration;

/// <summary>A local user and the one-time token that signs them in (shown once).</summary>
/// <param name="Id">The user id.</param>
/// <param name="Name">The display name.</param>
/// <param name="SignInToken">The one-time sign-in token.</param>
public sealed record LocalUserCreated(Guid Id, string Name, string SignInToken);

public sealed partial class GatewayAdministration
{
    /// <summary>
    /// Creates a local user (or, for an existing local user of that name, issues a new sign-in token): the token signs
    /// them in once on the login page.
    /// </summary>
    public async Task<AdminResult<LocalUserCreated>> AddLocalUserAsync(string name, string actor, CancellationToken ct = default)
    {
        name = name.Trim();
        if (name.Length is 0 or > 256)
        {
            return AdminResult<LocalUserCreated>.Fail(AdminFailure.Invalid, "A user name is 1 to 256 characters.");
        }

        var token = LocalUserSignIn.CreateToken();
        var now = time.GetUtcNow();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Kind == LocalUserSignIn.Kind && u.DisplayName == name, ct);
        if (user is null)
        {
            user = new UserRecord { Id = Guid.NewGuid(), Kind = LocalUserSignIn.Kind, Issuer = LocalUserSignIn.Issuer, DisplayName = name, CreatedAt = now };
            db.Users.Add(user);
        }

        user.ExternalSubject = SecretToken.Hash(token);
        db.AuditEvents.Add(new AuditEventRecord { At = now, Actor = actor, Action = "user.sign-in-token", Target = $"user:{user.Id:N} ({name})" });
        await db.SaveChangesAsync(ct);
        return AdminResult<LocalUserCreated>.Ok(new LocalUserCreated(user.Id, name, token));
    }
}
