using System.CommandLine;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Connections;
using Gatehouse.Identity.Users;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.UpstreamAuth.Flows;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse user add|list|offboard</c>.</summary>
internal static class UserCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var user = new Command("user", "People who sign in to Gatehouse.");

        var list = new Command("list", "List users: id, name, status, created, last sign-in, groups (from the identity provider at their last sign-in).");
        list.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var users = await cli.WithAdministrationAsync(a => a.ListUsersAsync(ct), ct);
            if (cli.Json)
            {
                cli.WriteJson(users);
            }
            else
            {
                cli.Table(["id", "name", "kind", "status", "created", "last sign-in", "groups"], users.Select(u => (IReadOnlyList<string>)
                    [u.Id.ToString(), u.Name, u.Kind, u.Status, CliContext.Time(u.CreatedAt), CliContext.Time(u.LastSignInAt), u.Groups.Count == 0 ? "-" : string.Join(",", u.Groups)]));
            }

            return 0;
        });

        var target = new Argument<string>("user") { Description = "The user's id or name." };
        var offboard = new Command("offboard",
            "Disable a user and cut everything they hold: grants, Gatehouse access and refresh tokens, consents, sign-in sessions, and upstream tokens (revoked at the providers).")
            { target };
        offboard.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var idOrName = parse.GetValue(target)!;
            var report = await cli.WithConnectFlowsAsync(null, async (flows, _) =>
            {
                await using var provider = new ServiceCollection().AddLogging().AddGatehouseIdentityStores(cli.Storage).Services.BuildServiceProvider();
                await using var scope = provider.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
                if (await GatewayAdministration.FindUserAsync(db, idOrName, ct) is not { } record)
                {
                    return null;
                }

                var offboarding = new UserOffboarding(db, scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>(),
                    scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>(), TimeProvider.System, cli.Storage.TouchChangeStamp,
                    (id, token) => UserConnections.DisconnectAllAsync(db, flows, id, "cli", token));
                return await offboarding.OffboardAsync(record, "cli", ct);
            }, ct);

            if (report is null)
            {
                cli.Error.WriteLine($"error: No user '{idOrName}' (or the name is shared: use the id). 'gatehouse user list' shows them.");
                return 3;
            }

            if (cli.Json)
            {
                cli.WriteJson(report);
            }
            else
            {
                cli.Output.WriteLine($"Offboarded '{report.Name}' ({report.UserId}): {UserOffboarding.Describe(report)}.");
            }

            return 0;
        });

        var addName = new Argument<string>("name") { Description = "The user's display name." };
        var add = new Command("add", "Create a local user, or give an existing one a new sign-in token; the token signs them in once.") { addName };
        add.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.AddLocalUserAsync(parse.GetValue(addName)!, "cli", ct), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"User '{v.Name}' ({v.Id:N}). One-time sign-in token (shown once; the person enters it on the login page):");
                cli.Output.WriteLine(v.SignInToken);
            });
        });

        user.Subcommands.Add(add);
        user.Subcommands.Add(list);
        user.Subcommands.Add(offboard);
        return user;
    }
}
