using System.CommandLine;
using Gatehouse.Admin.Administration;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse admin reset-token</c>.</summary>
internal static class AdminCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var admin = new Command("admin", "Manage the admin API credential.");
        var reset = new Command("reset-token", "Replace the admin API token (the old one stops working).");
        reset.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            await cli.Storage.InitializeAsync(ct);
            var token = await AdminCredentials.ResetAsync(cli.Storage, TimeProvider.System, ct);
            if (cli.Json)
            {
                cli.WriteJson(new { token });
            }
            else
            {
                cli.Output.WriteLine($"New admin API token (also saved in {Path.Combine(cli.Storage.DataDirectory, AdminCredentials.FileName)}):");
                cli.Output.WriteLine(token);
            }

            return 0;
        });
        admin.Subcommands.Add(reset);
        return admin;
    }
}
