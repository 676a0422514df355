using System.CommandLine;
using Gatehouse.Core.Configuration;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse grant create|list|revoke|rotate</c>.</summary>
internal static class GrantCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var grant = new Command("grant", "Issue and manage grant tokens for clients.");

        var servers = new Option<string[]>("--server") { Description = "A server the grant may reach. Repeatable.", Required = true };
        var label = new Option<string>("--label") { Description = "A label naming the client (e.g. alice-laptop).", Required = true };
        var expires = new Option<string?>("--expires") { Description = "Lifetime such as 30d, 12h or 2w (default: no expiry)." };
        var owner = new Option<string?>("--owner") { Description = "The user (id or name) who owns the grant; offboarding them revokes it." };
        var create = new Command("create", "Create a grant; its token is printed once and never again.") { servers, label, expires, owner };
        create.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            TimeSpan? lifetime = null;
            if (parse.GetValue(expires) is { Length: > 0 } text)
            {
                if (!DurationParser.TryParse(text, out var parsed, out var problem))
                {
                    cli.Error.WriteLine($"error: --expires {problem}");
                    return 2;
                }

                lifetime = parsed;
            }

            var result = await cli.WithAdministrationAsync(a => a.CreateGrantAsync(parse.GetValue(label)!, parse.GetValue(servers) ?? [], lifetime, "cli", ct, parse.GetValue(owner)), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"Created grant '{v.Grant.Label}' for {string.Join(", ", v.Grant.Servers)}{(v.Grant.ExpiresAt is { } e ? $", expires {CliContext.Time(e)}" : "")}.");
                cli.Output.WriteLine("Token (shown once; store it now):");
                cli.Output.WriteLine(v.Token);
                cli.Output.WriteLine($"Clients send it as: Authorization: Bearer {v.Token[..8]}…");
            });
        });

        var listOwner = new Option<string?>("--owner") { Description = "Only the grants this user (id or name) owns." };
        var list = new Command("list", "List grants (never their tokens).") { listOwner };
        list.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.ListGrantsAsync(parse.GetValue(listOwner), ct), ct);
            return cli.Report(result, grants => cli.Table(["label", "servers", "status", "created", "expires", "last used", "owner", "id"], grants.Select(g => (IReadOnlyList<string>)
                [g.Label, string.Join(",", g.Servers), g.Status, CliContext.Time(g.CreatedAt), CliContext.Time(g.ExpiresAt), CliContext.Time(g.LastUsedAt), g.OwnerUserId?.ToString() ?? "org", g.Id.ToString()])));
        });

        var revokeTarget = new Argument<string>("grant") { Description = "The grant's label or id." };
        var revoke = new Command("revoke", "Revoke a grant; in force on the next request.") { revokeTarget };
        revoke.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.RevokeGrantAsync(parse.GetValue(revokeTarget)!, "cli", ct), ct);
            return cli.Report(result, v => cli.Output.WriteLine($"Revoked grant '{v.Label}' at {CliContext.Time(v.RevokedAt)}."));
        });

        var rotateTarget = new Argument<string>("grant") { Description = "The grant's label or id." };
        var rotate = new Command("rotate", "Replace a grant's token; the old token stops working on the next request.") { rotateTarget };
        rotate.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.RotateGrantAsync(parse.GetValue(rotateTarget)!, "cli", ct), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"Rotated grant '{v.Grant.Label}'. New token (shown once):");
                cli.Output.WriteLine(v.Token);
            });
        });

        grant.Subcommands.Add(create);
        grant.Subcommands.Add(list);
        grant.Subcommands.Add(revoke);
        grant.Subcommands.Add(rotate);
        return grant;
    }
}
