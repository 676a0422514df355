using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gatehouse.Core.Decisions;
using Gatehouse.Storage.Decisions;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse logs</c> (the decision log) and <c>gatehouse audit</c> (the admin audit trail).</summary>
/// <remarks>
/// Both read the database directly, without the master key: the logs hold no secrets to unseal, and an operator
/// should be able to read them on a machine that only has a copy of the database.
/// </remarks>
internal static class LogsCommand
{
    // One object per line for jsonl; compact, because a line break inside an object would break the format.
    private static readonly JsonSerializerOptions LineJson = new(JsonSerializerDefaults.Web);

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var server = new Option<string?>("--server") { Description = "Only this server." };
        var principal = new Option<string?>("--principal") { Description = "Only this principal: grant label or id (grant:<id>)." };
        var decision = new Option<string?>("--decision") { Description = "Only this decision: allow, deny, hide or error." };
        decision.AcceptOnlyFromAmong([.. DecisionKinds.All]);
        var tool = new Option<string?>("--tool") { Description = "Only this tool name (or resource URI, or prompt name)." };
        var since = new Option<string?>("--since") { Description = "Only records from this time on: a duration ago (1h, 7d) or an ISO 8601 time." };
        var until = new Option<string?>("--until") { Description = "Only records before this time: ISO 8601 (or a duration ago)." };
        var before = new Option<string?>("--before") { Description = "Only records older than this cursor (the 'next' of a JSON page)." };
        var limit = new Option<int?>("--limit") { Description = "Most records shown (default 50; jsonl exports all unless given)." };
        var format = new Option<string?>("--format") { Description = "table, json or jsonl (one JSON object per line, for export). --json means json." };
        format.AcceptOnlyFromAmong("table", "json", "jsonl");

        var logs = new Command("logs", "Show the decision log, newest first: who called what on which server, what was decided and why.")
        {
            server, principal, decision, tool, since, until, before, limit, format,
        };
        logs.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var now = DateTimeOffset.UtcNow;
            DateTimeOffset? from = null, to = null;
            if (parse.GetValue(since) is { Length: > 0 } sinceText)
            {
                if (!TimeBound.TryParse(sinceText, now, out var value, out var problem))
                {
                    cli.Error.WriteLine($"error: --since {problem}");
                    return 2;
                }

                from = value;
            }

            if (parse.GetValue(until) is { Length: > 0 } untilText)
            {
                if (!TimeBound.TryParse(untilText, now, out var value, out var problem))
                {
                    cli.Error.WriteLine($"error: --until {problem}");
                    return 2;
                }

                to = value;
            }

            if (!DecisionQuery.TryParseCursor(parse.GetValue(before), out var cursor))
            {
                cli.Error.WriteLine("error: --before must be the 'next' value printed with a previous --json page.");
                return 2;
            }

            var wanted = parse.GetValue(limit);
            if (wanted is < 1)
            {
                cli.Error.WriteLine("error: --limit must be at least 1.");
                return 2;
            }

            var mode = parse.GetValue(format) ?? (cli.Json ? "json" : "table");
            var query = new DecisionQuery
            {
                Server = parse.GetValue(server), Principal = parse.GetValue(principal), Decision = parse.GetValue(decision),
                Target = parse.GetValue(tool), From = from, To = to, Before = cursor,
            };

            await cli.Storage.InitializeAsync(ct);
            if (mode == "jsonl")
            {
                // An export streams page by page, so its size is not bounded by memory.
                await ReadAsync(cli, query, wanted ?? long.MaxValue, entry => cli.Output.WriteLine(JsonSerializer.Serialize(entry, LineJson)), ct);
                return 0;
            }

            var entries = new List<DecisionEntry>();
            var next = await ReadAsync(cli, query, wanted ?? 50, entries.Add, ct);
            if (mode == "json")
            {
                cli.WriteJson(new LogPage<DecisionEntry>(entries, next));
            }
            else if (entries.Count == 0)
            {
                cli.Output.WriteLine("No decisions recorded that match.");
            }
            else
            {
                cli.Table(["time", "principal", "server", "method", "target", "decision", "rule", "upstream", "latency"], entries.Select(e => (IReadOnlyList<string>)
                [
                    Time(e.At), e.PrincipalLabel, e.Server, e.Method, e.Target ?? "-", e.Decision, e.Rule ?? "-",
                    e.UpstreamStatus?.ToString(CultureInfo.InvariantCulture) ?? e.ErrorCode ?? "-",
                    e.LatencyMs.ToString("0.0", CultureInfo.InvariantCulture) + "ms",
                ]));
                if (next is not null)
                {
                    cli.Output.WriteLine($"(more: --before {next})");
                }
            }

            return 0;
        });
        return logs;
    }

    public static Command CreateAudit(Func<ParseResult, CliContext> context)
    {
        var limit = new Option<int>("--limit") { Description = "Most events shown, newest first.", DefaultValueFactory = _ => 50 };
        var before = new Option<string?>("--before") { Description = "Only events older than this cursor (the 'next' of a JSON page)." };
        var audit = new Command("audit", "Show the admin audit trail: who changed what, and when.") { limit, before };
        audit.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var size = parse.GetValue(limit);
            if (size is < 1 or > DecisionQuery.MaxLimit)
            {
                cli.Error.WriteLine($"error: --limit must be between 1 and {DecisionQuery.MaxLimit}.");
                return 2;
            }

            if (!DecisionQuery.TryParseCursor(parse.GetValue(before), out var cursor))
            {
                cli.Error.WriteLine("error: --before must be the 'next' value printed with a previous --json page.");
                return 2;
            }

            await cli.Storage.InitializeAsync(ct);
            await using var db = cli.Storage.CreateContext();
            var page = await new AuditQuery { Before = cursor, Limit = size }.ExecuteAsync(db, ct);
            if (cli.Json)
            {
                cli.WriteJson(page);
            }
            else if (page.Items.Count == 0)
            {
                cli.Output.WriteLine("No changes recorded.");
            }
            else
            {
                cli.Table(["time", "actor", "action", "target", "details"], page.Items.Select(a => (IReadOnlyList<string>)
                    [Time(a.At), a.Actor, a.Action, a.Target, a.Details ?? ""]));
            }

            return 0;
        });
        return audit;
    }

    /// <summary>Reads up to <paramref name="wanted"/> entries page by page; returns the cursor after the last one read, if more remain.</summary>
    private static async Task<string?> ReadAsync(CliContext cli, DecisionQuery query, long wanted, Action<DecisionEntry> each, CancellationToken ct)
    {
        await using var db = cli.Storage.CreateContext();
        var read = 0L;
        while (true)
        {
            var page = await (query with { Limit = (int)Math.Min(DecisionQuery.MaxLimit, wanted - read) }).ExecuteAsync(db, ct);
            foreach (var entry in page.Items)
            {
                each(entry);
            }

            read += page.Items.Count;
            if (page.Next is null || read >= wanted)
            {
                return page.Next;
            }

            query = query with { Before = long.Parse(page.Next, CultureInfo.InvariantCulture) };
        }
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
