using System.CommandLine;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse user add</c>.</summary>
internal static class UserCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var user = new Command("user", "Manage Gatehouse users (people who sign in on the login page).");
        var name = new Argument<string>("name") { Description = "The user's display name." };
        var add = new Command("add", "Create a local user, or give an existing one a new sign-in token; the token signs them in once.") { name };
        add.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.AddLocalUserAsync(parse.GetValue(name)!, "cli", ct), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"User '{v.Name}' ({v.Id:N}). One-time sign-in token (shown once; the person enters it on the login page):");
                cli.Output.WriteLine(v.SignInToken);
            });
        });
        user.Subcommands.Add(add);
        return user;
    }
}
