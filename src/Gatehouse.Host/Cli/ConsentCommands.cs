using System.CommandLine;
using Gatehouse.Admin.Administration;
using Gatehouse.Identity.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse consent list|revoke</c>: the approvals people gave MCP clients, and withdrawing them.</summary>
internal static class ConsentCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var consent = new Command("consent", "Approvals people gave MCP clients to use a server through Gatehouse (remembered consents).");

        var user = new Option<string?>("--user") { Description = "Only this user's (id or name)." };
        var list = new Command("list", "List valid approvals: user, client, server, scopes, when.") { user };
        list.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var idOrName = parse.GetValue(user);
            var consents = await cli.WithIdentityStoresAsync(async (services, db) =>
            {
                Guid? only = null;
                if (idOrName is not null)
                {
                    if (await GatewayAdministration.FindUserAsync(db, idOrName, ct) is not { } record)
                    {
                        return null;
                    }

                    only = record.Id;
                }

                return await services.GetRequiredService<ConsentDirectory>().ListAsync(only, ct);
            }, ct);
            if (consents is null)
            {
                cli.Error.WriteLine($"error: No user '{idOrName}' (or the name is shared: use the id). 'gatehouse user list' shows them.");
                return 3;
            }

            if (cli.Json)
            {
                cli.WriteJson(consents);
            }
            else
            {
                cli.Table(["id", "user", "client", "server", "scopes", "approved"], consents.Select(c => (IReadOnlyList<string>)
                    [c.Id, c.User, c.Client == c.ClientId ? c.Client : $"{c.Client} ({c.ClientId})", c.Server, string.Join(' ', c.Scopes), CliContext.Time(c.ApprovedAt)]));
            }

            return 0;
        });

        var id = new Argument<string>("id") { Description = "The approval's id ('gatehouse consent list' shows it)." };
        var revoke = new Command("revoke", "Withdraw an approval: revokes every token the client got under it; the client must ask the person again.") { id };
        revoke.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var consentId = parse.GetValue(id)!;
            var revoked = await cli.WithIdentityStoresAsync((services, _) => services.GetRequiredService<ConsentDirectory>().RevokeAsync(consentId, null, "cli", ct), ct);
            if (revoked is null)
            {
                cli.Error.WriteLine($"error: No valid approval '{consentId}'. 'gatehouse consent list' shows them.");
                return 3;
            }

            if (cli.Json)
            {
                cli.WriteJson(revoked);
            }
            else
            {
                cli.Output.WriteLine($"Withdrew {revoked.User}'s approval of '{revoked.Client}' for server '{revoked.Server}': its refresh tokens stop working now; access tokens already issued expire within minutes.");
            }

            return 0;
        });

        consent.Subcommands.Add(list);
        consent.Subcommands.Add(revoke);
        return consent;
    }
}
