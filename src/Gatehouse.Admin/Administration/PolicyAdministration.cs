using System.Globalization;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Admin.Administration;

/// <summary>What the CLI and the admin API show of a policy.</summary>
public sealed record PolicyView(string Name, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<string> AttachedTo, string Document);

/// <summary>What applying a policy did.</summary>
public sealed record PolicyApplied(string Name, int Version, string Action);

/// <summary>
/// Policies: validated when applied (an invalid document is refused with the line and field of each error, and the
/// version in force stays), versioned, and attached to servers (their default) and grants (overriding it).
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

    /// <summary>Attaches a policy to a server or a grant (or detaches with <paramref name="policyName"/> null).</summary>
    public async Task<AdminResult<string>> AttachAsync(string? policyName, string? server, string? grant, string actor, CancellationToken ct = default)
    {
        if (server is null == grant is null)
        {
            return AdminResult<string>.Fail(AdminFailure.Invalid, "Name exactly one target: --server <name> or --grant <label>.");
        }

        if (policyName is not null && !await db.Policies.AnyAsync(p => p.Name == policyName, ct))
        {
            return AdminResult<string>.Fail(AdminFailure.NotFound, $"No policy '{policyName}'. Apply it first: gatehouse policy apply -f <file> --name {policyName}");
        }

        string target;
        if (server is not null)
        {
            var record = await db.Servers.FirstOrDefaultAsync(s => s.Name == server, ct);
            if (record is null)
            {
                return AdminResult<string>.Fail(AdminFailure.NotFound, $"No server '{server}'. 'gatehouse server list' shows what exists.");
            }

            record.PolicyName = policyName;
            target = $"server {server}";
        }
        else
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

        await CommitAsync(actor, policyName is null ? "policy.detach" : "policy.attach", target, policyName, ct);
        return AdminResult<string>.Ok(policyName is null ? $"Detached the policy from {target}." : $"Attached policy '{policyName}' to {target}.");
    }

    /// <summary>Lists policies with where they are attached.</summary>
    public async Task<IReadOnlyList<PolicyView>> ListAsync(CancellationToken ct = default)
    {
        var policies = await db.Policies.AsNoTracking().OrderBy(p => p.Name).ToListAsync(ct);
        var servers = await db.Servers.AsNoTracking().Where(s => s.PolicyName != null).Select(s => new { s.Name, s.PolicyName }).ToListAsync(ct);
        var grants = await db.Grants.AsNoTracking().Where(g => g.PolicyName != null).Select(g => new { g.Label, g.PolicyName }).ToListAsync(ct);
        return policies.Select(p => new PolicyView(p.Name, p.Version, p.CreatedAt, p.UpdatedAt,
            [.. servers.Where(s => s.PolicyName == p.Name).Select(s => "server:" + s.Name), .. grants.Where(g => g.PolicyName == p.Name).Select(g => "grant:" + g.Label)],
            p.Document)).ToList();
    }

    /// <summary>Formats parse errors one per line: <c>line 4, column 7 (/tools/x/deny_if/0/gt): message</c>.</summary>
    public static string FormatErrors(IEnumerable<PolicyError> errors) =>
        string.Join(Environment.NewLine, errors.Select(e => string.Create(CultureInfo.InvariantCulture, $"  line {e.Line}, column {e.Column} ({e.Path}): {e.Message}")));

    private Task CommitAsync(string actor, string action, string target, string? details, CancellationToken ct) =>
        ConfigurationCommit.SaveAsync(db, time, onChanged, actor, action, target, details, ct);
}
