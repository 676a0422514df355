using System.CommandLine;
using Gatehouse.Admin.Administration;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse server add|list|show|remove</c>.</summary>
internal static class ServerCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var server = new Command("server", "Register and inspect upstream MCP servers.");

        var name = new Argument<string>("name") { Description = "The server's name (a slug; clients use /mcp/<name>)." };
        var url = new Option<string>("--url") { Description = "The upstream MCP endpoint URL.", Required = true };
        var transport = new Option<string>("--transport") { Description = "auto, streamable-http or sse.", DefaultValueFactory = _ => "auto" };
        var header = new Option<string[]>("--header") { Description = "A header injected upstream, 'Name: value' (stored encrypted). Repeatable." };
        var add = new Command("add", "Register an upstream server.") { name, url, transport, header };
        add.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var raw in parse.GetValue(header) ?? [])
            {
                var colon = raw.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    cli.Error.WriteLine($"error: --header '{raw[..Math.Min(raw.Length, 40)]}…' must look like 'Name: value'.");
                    return 2;
                }

                headers.Add(new(raw[..colon].Trim(), raw[(colon + 1)..].Trim()));
            }

            var spec = new ServerSpec(parse.GetValue(name)!, parse.GetValue(url)!, parse.GetValue(transport), headers);
            var result = await cli.WithAdministrationAsync(a => a.AddServerAsync(spec, "cli", ct), ct);
            return cli.Report(result, v => cli.Output.WriteLine($"Added server '{v.Name}' → {v.Url} ({v.Transport}). Create a grant: gatehouse grant create --server {v.Name} --label <name>"));
        });

        var list = new Command("list", "List registered servers.");
        list.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var servers = await cli.WithAdministrationAsync(a => a.ListServersAsync(ct), ct);
            if (cli.Json)
            {
                cli.WriteJson(servers);
            }
            else
            {
                cli.Table(["name", "url", "transport", "auth", "enabled"], servers.Select(s => (IReadOnlyList<string>)[s.Name, s.Url, s.Transport, s.Auth, s.Enabled ? "yes" : "no"]));
            }

            return 0;
        });

        var showName = new Argument<string>("name") { Description = "The server's name." };
        var show = new Command("show", "Show one server (header names only; values are never shown).") { showName };
        show.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.GetServerAsync(parse.GetValue(showName)!, ct), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"name:       {v.Name}");
                cli.Output.WriteLine($"url:        {v.Url}");
                cli.Output.WriteLine($"transport:  {v.Transport}");
                cli.Output.WriteLine($"auth:       {v.Auth}{(v.HeaderNames.Count > 0 ? " (" + string.Join(", ", v.HeaderNames) + ")" : "")}");
                cli.Output.WriteLine($"enabled:    {(v.Enabled ? "yes" : "no")}");
                cli.Output.WriteLine($"created:    {CliContext.Time(v.CreatedAt)}");
                cli.Output.WriteLine($"updated:    {CliContext.Time(v.UpdatedAt)}");
            });
        });

        var removeName = new Argument<string>("name") { Description = "The server's name." };
        var remove = new Command("remove", "Remove a server; grants lose access to it.") { removeName };
        remove.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.RemoveServerAsync(parse.GetValue(removeName)!, "cli", ct), ct);
            return cli.Report(result, v => cli.Output.WriteLine($"Removed server '{v.Name}'."));
        });

        server.Subcommands.Add(add);
        server.Subcommands.Add(list);
        server.Subcommands.Add(show);
        server.Subcommands.Add(remove);
        return server;
    }
}
