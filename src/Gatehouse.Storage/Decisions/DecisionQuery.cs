using System.Globalization;
using System.Text.Json;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Decisions;

/// <summary>One stored decision as the CLI and the admin API show it.</summary>
/// <param name="Id">The record's position in the log; pass it as <c>before</c> to read older records.</param>
/// <param name="At">When the request arrived.</param>
/// <param name="RequestId">The gateway's request id.</param>
/// <param name="PrincipalId">Who asked (e.g. <c>grant:&lt;guid&gt;</c>).</param>
/// <param name="PrincipalLabel">The principal's human name.</param>
/// <param name="Server">The server name.</param>
/// <param name="Method">JSON-RPC method, or HTTP method for streams.</param>
/// <param name="Target">Tool name, resource URI or prompt name.</param>
/// <param name="Decision">allow, deny, hide or error.</param>
/// <param name="Rule">The rule that decided.</param>
/// <param name="PolicyVersion">The policy version that decided.</param>
/// <param name="ArgumentKeys">Top-level argument keys.</param>
/// <param name="ArgumentValuesJson">Argument values, only when the policy opted the tool in.</param>
/// <param name="UpstreamStatus">The upstream's HTTP status.</param>
/// <param name="LatencyMs">Latency in milliseconds.</param>
/// <param name="ErrorCode">Gateway error code, when it failed.</param>
/// <param name="Message">Short explanation.</param>
public sealed record DecisionEntry(
    long Id, DateTimeOffset At, string RequestId, string PrincipalId, string PrincipalLabel, string Server, string Method,
    string? Target, string Decision, string? Rule, string? PolicyVersion, IReadOnlyList<string> ArgumentKeys,
    string? ArgumentValuesJson, int? UpstreamStatus, double LatencyMs, string? ErrorCode, string? Message);

/// <summary>One page of a log, newest first.</summary>
/// <typeparam name="T">The entry type.</typeparam>
/// <param name="Items">The entries, newest first.</param>
/// <param name="Next">The cursor for the next (older) page, or null when this is the last page.</param>
public sealed record LogPage<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>Filters and paging over the decision log. Unset filters match everything.</summary>
/// <remarks>
/// Pages go by descending id rather than by time: ids are unique and grow with every insert, so a cursor never skips or
/// repeats a record, even when many share a timestamp or records arrive while someone pages.
/// </remarks>
public sealed record DecisionQuery
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Only this server.</summary>
    public string? Server { get; init; }

    /// <summary>Only this principal, by id (<c>grant:…</c>) or label.</summary>
    public string? Principal { get; init; }

    /// <summary>Only this decision (allow, deny, hide, error).</summary>
    public string? Decision { get; init; }

    /// <summary>Only this tool name, resource URI or prompt name.</summary>
    public string? Target { get; init; }

    /// <summary>Only records at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only records before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only records older than this cursor (a previous page's <see cref="LogPage{T}.Next"/>).</summary>
    public long? Before { get; init; }

    /// <summary>Page size, 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Reads a cursor as given by <see cref="LogPage{T}.Next"/>.</summary>
    public static bool TryParseCursor(string? text, out long? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            cursor = value;
            return true;
        }

        return false;
    }

    /// <summary>Runs the query.</summary>
    public async Task<LogPage<DecisionEntry>> ExecuteAsync(GatehouseDbContext db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentOutOfRangeException.ThrowIfLessThan(Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit);

        IQueryable<DecisionLogRecord> rows = db.Decisions.AsNoTracking();
        if (!string.IsNullOrEmpty(Server))
        {
            rows = rows.Where(d => d.Server == Server);
        }

        if (!string.IsNullOrEmpty(Principal))
        {
            rows = rows.Where(d => d.PrincipalId == Principal || d.PrincipalLabel == Principal);
        }

        if (!string.IsNullOrEmpty(Decision))
        {
            rows = rows.Where(d => d.Decision == Decision);
        }

        if (!string.IsNullOrEmpty(Target))
        {
            rows = rows.Where(d => d.Target == Target);
        }

        if (From is { } from)
        {
            rows = rows.Where(d => d.At >= from);
        }

        if (To is { } to)
        {
            rows = rows.Where(d => d.At < to);
        }

        if (Before is { } before)
        {
            rows = rows.Where(d => d.Id < before);
        }

        // One extra row tells whether an older page exists without a second query.
        var page = await rows.OrderByDescending(d => d.Id).Take(Limit + 1).ToListAsync(cancellationToken);
        var more = page.Count > Limit;
        if (more)
        {
            page.RemoveAt(page.Count - 1);
        }

        return new LogPage<DecisionEntry>(page.Select(ToEntry).ToList(),
            more ? page[^1].Id.ToString(CultureInfo.InvariantCulture) : null);
    }

    private static DecisionEntry ToEntry(DecisionLogRecord r) => new(
        r.Id, r.At, r.RequestId, r.PrincipalId, r.PrincipalLabel, r.Server, r.Method, r.Target, r.Decision, r.Rule,
        r.PolicyVersion, ReadKeys(r.ArgumentKeysJson), r.ArgumentValuesJson, r.UpstreamStatus, r.LatencyMs, r.ErrorCode, r.Message);

    private static string[] ReadKeys(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StorageJsonContext.Default.StringArray) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>One admin change as the CLI and the admin API show it.</summary>
/// <param name="Id">Position in the trail; pass it as <c>before</c> to read older events.</param>
/// <param name="At">When.</param>
/// <param name="Actor">Who (<c>cli</c>, <c>admin-api</c>, <c>cli:apply</c>…).</param>
/// <param name="Action">What (<c>server.add</c>, <c>grant.revoke</c>…).</param>
/// <param name="Target">The object changed.</param>
/// <param name="Details">What changed (never a secret value).</param>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string Target, string? Details);

/// <summary>Paging over the admin audit trail (<c>audit_events</c>), newest first.</summary>
public sealed record AuditQuery
{
    /// <summary>Only events older than this cursor.</summary>
    public long? Before { get; init; }

    /// <summary>Page size, 1 to <see cref="DecisionQuery.MaxLimit"/>.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Runs the query.</summary>
    public async Task<LogPage<AuditEntry>> ExecuteAsync(GatehouseDbContext db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentOutOfRangeException.ThrowIfLessThan(Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, DecisionQuery.MaxLimit);

        IQueryable<AuditEventRecord> rows = db.AuditEvents.AsNoTracking();
        if (Before is { } before)
        {
            rows = rows.Where(a => a.Id < before);
        }

        var page = await rows.OrderByDescending(a => a.Id).Take(Limit + 1).ToListAsync(cancellationToken);
        var more = page.Count > Limit;
        if (more)
        {
            page.RemoveAt(page.Count - 1);
        }

        return new LogPage<AuditEntry>(page.Select(a => new AuditEntry(a.Id, a.At, a.Actor, a.Action, a.Target, a.Details)).ToList(),
            more ? page[^1].Id.ToString(CultureInfo.InvariantCulture) : null);
    }
}
