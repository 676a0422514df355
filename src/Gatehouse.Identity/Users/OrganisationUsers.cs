using System.Security.Claims;
using System.Text.Json;
using Gatehouse.Identity.Organisation;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Identity.Users;

/// <summary>What the identity provider says about the person signing in.</summary>
/// <param name="Issuer">The provider's issuer.</param>
/// <param name="Subject">The person's <c>sub</c> there.</param>
/// <param name="DisplayName">Name, else preferred username, else e-mail, else the subject.</param>
/// <param name="Email">E-mail, if released.</param>
/// <param name="Groups">Groups from the configured claim, sorted, without duplicates.</param>
public sealed record OrganisationIdentity(string Issuer, string Subject, string DisplayName, string? Email, IReadOnlyList<string> Groups)
{
    // The lengths of the users table's columns.
    private const int MaxSubject = 256;
    private const int MaxName = 256;
    private const int MaxEmail = 320;

    /// <summary>Reads the identity from the provider's claims (ID token and userinfo, raw claim names).</summary>
    /// <returns>Null when there is no <c>sub</c>, or one too long to store.</returns>
    public static OrganisationIdentity? From(string issuer, IEnumerable<Claim> claims, string groupsClaim)
    {
        var all = claims.ToList();
        string? First(string type) => all.FirstOrDefault(c => c.Type == type && !string.IsNullOrWhiteSpace(c.Value))?.Value.Trim();
        if (First("sub") is not { Length: <= MaxSubject } subject)
        {
            return null;
        }

        var email = First("email") is { Length: <= MaxEmail } address ? address : null;
        var name = First("name") ?? First("preferred_username") ?? email ?? subject;
        return new OrganisationIdentity(issuer, subject, name.Length <= MaxName ? name : name[..MaxName], email,
            ParseGroups(all.Where(c => c.Type == groupsClaim).Select(c => c.Value)));
    }

    /// <summary>
    /// Group names from the values of the groups claim: each value is one group, or a JSON array of them (how a claim
    /// holding an array arrives from a userinfo response).
    /// </summary>
    public static IReadOnlyList<string> ParseGroups(IEnumerable<string> values)
    {
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var trimmed = value.Trim();
            if (trimmed.StartsWith('['))
            {
                try
                {
                    foreach (var item in JsonSerializer.Deserialize<JsonElement>(trimmed).EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.String && item.GetString()!.Trim() is { Length: > 0 } group)
                        {
                            groups.Add(group);
                        }
                    }

                    continue;
                }
                catch (JsonException)
                {
                    // Not an array after all: a group whose name starts with '['.
                }
            }

            if (trimmed.Length > 0)
            {
                groups.Add(trimmed);
            }
        }

        return [.. groups];
    }
}

/// <summary>Users who sign in through the organisation's identity provider: found by (issuer, subject), created on first sign-in.</summary>
/// <param name="db">The database.</param>
/// <param name="time">The clock.</param>
/// <param name="onChanged">Signals running gateways (a new user or new groups change what policies apply to).</param>
public sealed class OrganisationUsers(GatehouseDbContext db, TimeProvider time, Action onChanged)
{
    /// <summary>
    /// The user row for <paramref name="identity"/>, created or brought up to date (name, e-mail, groups, last sign-in).
    /// A disabled user is returned unchanged: the caller refuses them.
    /// </summary>
    public async Task<UserRecord> SignInAsync(OrganisationIdentity identity, CancellationToken ct) => await SignInAsync(identity, retryIfRaced: true, ct);

    private async Task<UserRecord> SignInAsync(OrganisationIdentity identity, bool retryIfRaced, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var groupsJson = JsonSerializer.Serialize(identity.Groups);
        var user = await db.Users.FirstOrDefaultAsync(
            u => u.Kind == OrganisationSignIn.UserKind && u.Issuer == identity.Issuer && u.ExternalSubject == identity.Subject, ct);
        if (user is { DisabledAt: not null })
        {
            return user;
        }

        if (user is null)
        {
            user = new UserRecord
            {
                Id = Guid.NewGuid(), Kind = OrganisationSignIn.UserKind, Issuer = identity.Issuer, ExternalSubject = identity.Subject,
                DisplayName = identity.DisplayName, Email = identity.Email, GroupsJson = groupsJson, CreatedAt = now, LastSignInAt = now,
            };
            db.Users.Add(user);
            try
            {
                await ConfigurationCommit.SaveAsync(db, time, onChanged, "login", "user.create", Target(user),
                    $"first sign-in through {identity.Issuer}; groups {Describe(identity.Groups)}", ct);
            }
            catch (DbUpdateException) when (retryIfRaced)
            {
                // The same person's first sign-in completed meanwhile elsewhere (the unique (issuer, subject) index): use that row.
                db.ChangeTracker.Clear();
                return await SignInAsync(identity, retryIfRaced: false, ct);
            }

            return user;
        }

        var previousGroups = user.GroupsJson;
        user.DisplayName = identity.DisplayName;
        user.Email = identity.Email;
        user.GroupsJson = groupsJson;
        user.LastSignInAt = now;
        if (previousGroups != groupsJson)
        {
            var before = JsonSerializer.Deserialize<string[]>(previousGroups) ?? [];
            await ConfigurationCommit.SaveAsync(db, time, onChanged, "login", "user.groups", Target(user),
                $"groups {Describe(before)} -> {Describe(identity.Groups)} (from {identity.Issuer} at sign-in)", ct);
        }
        else
        {
            await db.SaveChangesAsync(ct);
        }

        return user;
    }

    private static string Target(UserRecord user) => $"user:{user.Id:N} ({user.DisplayName})";

    private static string Describe(IReadOnlyCollection<string> groups) => groups.Count == 0 ? "(none)" : string.Join(", ", groups);
}
