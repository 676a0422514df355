using System.CommandLine;
using Gatehouse.Host.Cli;

namespace Gatehouse.Host;

/// <summary>The <c>gatehouse</c> command.</summary>
public static class Program
{
    /// <summary>Runs the CLI.</summary>
    public static Task<int> Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the CLI with the given writers (tests call this in-process).</summary>
    public static async Task<int> Run(string[] args, TextWriter output, TextWriter error)
    {
        var data = new Option<string>("--data") { Description = "The data directory.", Recursive = true, DefaultValueFactory = _ => Environment.GetEnvironmentVariable("GATEHOUSE_DATA") ?? "./.gatehouse" };
        var json = new Option<bool>("--json") { Description = "Machine-readable JSON output.", Recursive = true };
        CliContext Context(ParseResult parse) => new(parse.GetValue(data)!, parse.GetValue(json), output, error);

        var root = new RootCommand("Gatehouse: an MCP gateway. One place for upstream credentials, client grants and policy.")
        {
            ServeCommand.Create(Context),
            ServerCommands.Create(Context),
            GrantCommands.Create(Context),
            UserCommands.Create(Context),
            ConsentCommands.Create(Context),
            LoginProviderCommands.Create(Context),
            ApplyCommand.Create(Context),
            PolicyCommands.Create(Context),
            AdminCommands.Create(Context),
            KeysCommands.Create(Context),
            LogsCommand.Create(Context),
            LogsCommand.CreateAudit(Context),
        };
        root.Options.Add(data);
        root.Options.Add(json);

        var parsed = root.Parse(args);
        try
        {
            // Without the default handler, exceptions reach the catch below instead of being printed with a stack trace.
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (InvalidOperationException ex)
        {
            // Configuration problems (a wrong master key, an unreadable key file) carry messages written for the operator.
            await error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
    }
}
