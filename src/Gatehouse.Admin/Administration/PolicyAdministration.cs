using System.Globalization;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Admin.Administration;

/// <summary>What the CLI and the admin API show of a policy.</summary>
public sealed record PolicyView(string Name, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<string> AttachedTo, string Document);

/// <summary>Where a policy is attached: exactly one of a server, a grant (label or id), a user (id or unique name) or a group.</summary>
public sealed record AttachmentTarget(string? Server = null, string? Grant = null, string? User = null, string? Group = null);

/// <summary>What applying a policy did.</summary>
public sealed record PolicyApplied(string Name, int Version, string Action);

/// <summary>
/// Policies: validated when applied (an invalid document is refused with the line and field of each error, and the
/// version in force stays), versioned, and attached to servers (their default), groups, users and grants (the most
/// specific; see docs/policy.md).
/// </summary>
public sealed class PolicyAdministration(GatehouseDbContext db, TimeProvider time, Action onChanged)
{
    /// <summary>Creates or updates a policy from its document; unchanged text is a no-op.</summary>
    public async Task<AdminResult<PolicyApplied>> ApplyAsync(string name, string document, string actor, CancellationToken ct = default)
    {
        if (!ServerName.TryValidate(name, out var problem))
        {
            return AdminResult<PolicyApplied>.Fail(AdminFailure.Invalid, problem.Replace("server name", "policy name", StringComparison.Ordinal));
        }

        var parsed = PolicyDocumentParser.Parse(document);
        if (parsed.Errors.Count > 0)
        {
            return AdminResult<PolicyApplied>.Fail(AdminFailure.Invalid,
                $"Policy '{name}' was not applied; the version in force is unchanged. Fix these and apply again:{Environment.NewLine}" + FormatErrors(parsed.Errors));
        }

        var now = time.GetUtcNow();
        var record = await db.Policies.FirstOrDefaultAsync(p => p.Name == name, ct);
        string action;
        if (record is null)
        {
            record = new PolicyRecord { Id = Guid.NewGuid(), Name = name, Version = 1, Document = document, CreatedAt = now, UpdatedAt = now };
            db.Policies.Add(record);
            action = "created";
        }
        else if (record.Document == document)
        {
            return AdminResult<PolicyApplied>.Ok(new PolicyApplied(name, record.Version, "unchanged"));
        }
        else
        {
            // The document's own version appears in every decision; two different texts under one number would make
            // the decision log ambiguous.
            var previous = PolicyDocumentParser.Parse(record.Document).Policy?.Version ?? 0;
            if (parsed.Policy!.Version <= previous)
            {
                return AdminResult<PolicyApplied>.Fail(AdminFailure.Invalid,
                    $"Policy '{name}' changed but its version did not grow (in force: {previous}, given: {parsed.Policy.Version}). Raise 'version' and apply again; the version in force is unchanged.");
            }

            record.Version++;
            record.Document = document;
            record.UpdatedAt = now;
            action = "updated";
        }

        db.PolicyVersions.Add(new PolicyVersionRecord { PolicyId = record.Id, Version = record.Version, Document = document, CreatedAt = now, Actor = actor });
        await CommitAsync(actor, "policy." + (action == "created" ? "create" : "update"), name, $"version={record.Version}", ct);
        return AdminResult<PolicyApplied>.Ok(new PolicyApplied(name, record.Version, action));
    }

    /// <summary>Attaches a policy to a server, a grant, a user or a group (or detaches with <paramref name="policyName"/> null).</summary>
    public async Task<AdminResult<string>> AttachAsync(string? policyName, AttachmentTarget to, string actor, CancellationToken ct = default)
    {
        if (new[] { to.Server, to.Grant, to.User, to.Group }.Count(t => t is not null) != 1)
        {
            return AdminResult<string>.Fail(AdminFailure.Invalid, "Name exactly one target: --server <name>, --grant <label>, --user <id or name> or --group <name>.");
        }

        if (policyName is not null && !await db.Policies.AnyAsync(p => p.Name == policyName, ct))
        {
            return AdminResult<string>.Fail(AdminFailure.NotFound, $"No policy '{policyName}'. Apply it first: gatehouse policy apply -f <file> --name {policyName}");
        }

        string target;
        if (to.Server is { } server)
        {
            var record = await db.Servers.FirstOrDefaultAsync(s => s.Name == server, ct);
            if (record is null)
            {
                return AdminResult<string>.Fail(AdminFailure.NotFound, $"No server '{server}'. 'gatehouse server list' shows what exists.");
            }

            record.PolicyName = policyName;
            target = $"server {server}";
        }
        else if (to.Grant is { } grant)
        {
            var record = Guid.TryParse(grant, out var id)
                ? await db.Grants.FirstOrDefaultAsync(g => g.Id == id, ct)
                : await db.Grants.FirstOrDefaultAsync(g => g.Label == grant, ct);
            if (record is null)
            {
                return AdminResult<string>.Fail(AdminFailure.NotFound, $"No grant '{grant}'. 'gatehouse grant list' shows what exists.");
            }

            record.PolicyName = policyName;
            target = $"grant {record.Label}";
        }
        else if (to.User is { } user)
        {
            var record = await GatewayAdministration.FindUserAsync(db, user, ct);
            if (record is null)
            {
                return AdminResult<string>.Fail(AdminFailure.NotFound, $"No user '{user}' (or the name is shared: use the id). 'gatehouse user list' shows them.");
            }

            record.PolicyName = policyName;
            target = $"user {record.DisplayName} ({record.Id:D})";
        }
        else
        {
            var group = to.Group!.Trim();
            if (group.Length is 0 or > GroupNameMaxLength)
            {
                return AdminResult<string>.Fail(AdminFailure.Invalid, $"A group name is 1 to {GroupNameMaxLength} characters, spelled as the identity provider's groups claim carries it.");
            }

            var record = await db.GroupPolicies.FirstOrDefaultAsync(g => g.Group == group, ct);
            target = $"group {group}";
            if (policyName is null && record is null)
            {
                return AdminResult<string>.Ok($"No policy was attached to {target}.");
            }

            if (policyName is null)
            {
                db.GroupPolicies.Remove(record!);
            }
            else if (record is null)
            {
                db.GroupPolicies.Add(new GroupPolicyRecord { Group = group, PolicyName = policyName, CreatedAt = time.GetUtcNow() });
            }
            else
            {
                record.PolicyName = policyName;
            }
        }

        await CommitAsync(actor, policyName is null ? "policy.detach" : "policy.attach", target, policyName, ct);
        return AdminResult<string>.Ok(policyName is null ? $"Detached the policy from {target}." : $"Attached policy '{policyName}' to {target}.");
    }

    // The length of the group_policies key column.
    private const int GroupNameMaxLength = 256;

    /// <summary>Lists policies with where they are attached.</summary>
    public async Task<IReadOnlyList<PolicyView>> ListAsync(CancellationToken ct = default)
    {
        var policies = await db.Policies.AsNoTracking().OrderBy(p => p.Name).ToListAsync(ct);
        var servers = await db.Servers.AsNoTracking().Where(s => s.PolicyName != null).Select(s => new { s.Name, s.PolicyName }).ToListAsync(ct);
        var grants = await db.Grants.AsNoTracking().Where(g => g.PolicyName != null).Select(g => new { g.Label, g.PolicyName }).ToListAsync(ct);
        var groups = await db.GroupPolicies.AsNoTracking().OrderBy(g => g.Group).ToListAsync(ct);
        var users = await db.Users.AsNoTracking().Where(u => u.PolicyName != null).OrderBy(u => u.DisplayName).Select(u => new { u.DisplayName, u.PolicyName }).ToListAsync(ct);
        return policies.Select(p => new PolicyView(p.Name, p.Version, p.CreatedAt, p.UpdatedAt,
            [
                .. servers.Where(s => s.PolicyName == p.Name).Select(s => "server:" + s.Name),
                .. groups.Where(g => g.PolicyName == p.Name).Select(g => "group:" + g.Group),
                .. users.Where(u => u.PolicyName == p.Name).Select(u => "user:" + u.DisplayName),
                .. grants.Where(g => g.PolicyName == p.Name).Select(g => "grant:" + g.Label),
            ],
            p.Document)).ToList();
    }

    /// <summary>Formats parse errors one per line: <c>line 4, column 7 (/tools/x/deny_if/0/gt): message</c>.</summary>
    public static string FormatErrors(IEnumerable<PolicyError> errors) =>
        string.Join(Environment.NewLine, errors.Select(e => string.Create(CultureInfo.InvariantCulture, $"  line {e.Line}, column {e.Column} ({e.Path}): {e.Message}")));

    private Task CommitAsync(string actor, string action, string target, string? details, CancellationToken ct) =>
        ConfigurationCommit.SaveAsync(db, time, onChanged, actor, action, target, details, ct);
}
