using System.CommandLine;
using Gatehouse.Admin.Declarative;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse apply -f gatehouse.yaml</c>: makes the servers match a declarative file, idempotently.</summary>
internal static class ApplyCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The YAML file to apply.", Required = true };
        file.AcceptExistingOnly();
        var prune = new Option<bool>("--prune") { Description = "Also remove servers that the file does not list." };
        var apply = new Command("apply", "Create or update servers from a YAML file (servers: name, url, transport, headers with ${ENV} references).") { file, prune };
        apply.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            // AcceptExistingOnly has already refused a missing file with the parser's own message.
            var path = parse.GetValue(file)!;

            var parsed = DeclarativeConfig.Parse(await File.ReadAllTextAsync(path.FullName, ct), Environment.GetEnvironmentVariable);
            if (!parsed.Succeeded)
            {
                cli.Error.WriteLine($"error: {path.Name} was not applied; nothing changed:");
                cli.Error.WriteLine(parsed.Error);
                return 2;
            }

            var result = await cli.WithAdministrationAsync(a => DeclarativeConfig.ApplyAsync(a, parsed.Value!, parse.GetValue(prune), "cli:apply", ct), ct);
            return cli.Report(result, report =>
            {
                foreach (var change in report.Changes)
                {
                    cli.Output.WriteLine($"{change.Kind} {change.Name}: {change.Action}");
                }

                cli.Output.WriteLine(report.Unchanged ? "Nothing to change." : "Applied.");
            });
        });
        return apply;
    }
}
