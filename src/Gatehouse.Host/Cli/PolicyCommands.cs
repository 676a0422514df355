using System.CommandLine;
using System.Text.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Policy;
using Gatehouse.Storage.Configuration;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse policy apply|attach|detach|list|show|explain|test</c>.</summary>
internal static class PolicyCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var policy = new Command("policy", "Write, attach, explain and test policies (see docs/policy.md).");
        policy.Subcommands.Add(Apply(context));
        policy.Subcommands.Add(Attach(context));
        policy.Subcommands.Add(Detach(context));
        policy.Subcommands.Add(List(context));
        policy.Subcommands.Add(Show(context));
        policy.Subcommands.Add(Explain(context));
        policy.Subcommands.Add(PolicyTestCommand.Create(context));
        return policy;
    }

    private static Command Apply(Func<ParseResult, CliContext> context)
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The policy document (YAML or JSON).", Required = true };
        file.AcceptExistingOnly();
        var name = new Option<string>("--name") { Description = "The policy's name (default: the file name without extension)." };
        var targets = new TargetOptions("Also attach it to");
        var command = new Command("apply", "Validate and store a policy; an invalid one is refused with the line of each error and the version in force stays.")
        {
            file, name,
        };
        targets.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            // AcceptExistingOnly has already refused a missing file with the parser's own message.
            var path = parse.GetValue(file)!;

            var policyName = parse.GetValue(name) ?? Path.GetFileNameWithoutExtension(path.Name);
            var document = await File.ReadAllTextAsync(path.FullName, ct);
            return await cli.WithPoliciesAsync(async (admin, _) =>
            {
                var applied = await admin.ApplyAsync(policyName, document, "cli", ct);
                var target = targets.Read(parse);
                if (!applied.Succeeded || target == new AttachmentTarget())
                {
                    return cli.Report(applied, v => cli.Output.WriteLine($"Policy '{v.Name}' version {v.Version}: {v.Action}."));
                }

                var attached = await admin.AttachAsync(policyName, target, "cli", ct);
                return cli.Report(attached, message => cli.Output.WriteLine($"Policy '{policyName}' version {applied.Value!.Version}: {applied.Value.Action}. {message}"));
            }, ct);
        });
        return command;
    }

    private static Command Attach(Func<ParseResult, CliContext> context)
    {
        var name = new Argument<string>("name") { Description = "The policy's name." };
        var targets = new TargetOptions("Attach to");
        var command = new Command("attach", "Attach a policy to a server (default for all its grants), a group, a user or one grant.") { name };
        targets.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithPoliciesAsync((admin, _) => admin.AttachAsync(parse.GetValue(name), targets.Read(parse), "cli", ct), ct);
            return cli.Report(result, message => cli.Output.WriteLine(message));
        });
        return command;
    }

    private static Command Detach(Func<ParseResult, CliContext> context)
    {
        var targets = new TargetOptions("Detach from");
        var command = new Command("detach", "Remove the policy attached to a server, a group, a user or a grant.");
        targets.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithPoliciesAsync((admin, _) => admin.AttachAsync(null, targets.Read(parse), "cli", ct), ct);
            return cli.Report(result, message => cli.Output.WriteLine(message));
        });
        return command;
    }

    private static Command List(Func<ParseResult, CliContext> context)
    {
        var command = new Command("list", "List policies, their versions and where they are attached.");
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var policies = await cli.WithPoliciesAsync((admin, _) => admin.ListAsync(ct), ct);
            if (cli.Json)
            {
                cli.WriteJson(policies.Select(p => new { p.Name, p.Version, p.AttachedTo, p.CreatedAt, p.UpdatedAt }));
            }
            else
            {
                cli.Table(["name", "version", "attached to", "updated"], policies.Select(p => (IReadOnlyList<string>)
                    [p.Name, p.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), p.AttachedTo.Count == 0 ? "-" : string.Join(", ", p.AttachedTo), CliContext.Time(p.UpdatedAt)]));
            }

            return 0;
        });
        return command;
    }

    private static Command Show(Func<ParseResult, CliContext> context)
    {
        var name = new Argument<string>("name") { Description = "The policy's name." };
        var command = new Command("show", "Print a policy's document as applied.") { name };
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var policies = await cli.WithPoliciesAsync((admin, _) => admin.ListAsync(ct), ct);
            var found = policies.FirstOrDefault(p => p.Name == parse.GetValue(name));
            if (found is null)
            {
                cli.Error.WriteLine($"error: No policy '{parse.GetValue(name)}'. 'gatehouse policy list' shows what exists.");
                return 3;
            }

            if (cli.Json)
            {
                cli.WriteJson(found);
            }
            else
            {
                cli.Output.Write(found.Document);
            }

            return 0;
        });
        return command;
    }

    private static Command Explain(Func<ParseResult, CliContext> context)
    {
        var server = new Option<string>("--server") { Description = "The server the call goes to.", Required = true };
        var grant = new Option<string?>("--grant") { Description = "The grant making the call (label or id); its owner's user and group policies apply too." };
        var user = new Option<string?>("--user") { Description = "The user making the call (id or name), signed in or through a grant they own." };
        var tool = new Option<string?>("--tool") { Description = "A tool name (tools/call)." };
        var resource = new Option<string?>("--resource") { Description = "A resource URI (resources/read)." };
        var prompt = new Option<string?>("--prompt") { Description = "A prompt name (prompts/get)." };
        var args = new Option<string?>("--args") { Description = "The call's arguments as a JSON object." };
        var command = new Command("explain", "Show the decision the policies in force would make for a call, and the rule that makes it (no quota is charged).")
        {
            server, grant, user, tool, resource, prompt, args,
        };
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var (target, name) = TargetOf(parse.GetValue(tool), parse.GetValue(resource), parse.GetValue(prompt));
            if (name is null)
            {
                cli.Error.WriteLine("error: name exactly one of --tool, --resource or --prompt.");
                return 2;
            }

            if (!TryParseArguments(parse.GetValue(args), out var arguments, out var problem))
            {
                cli.Error.WriteLine($"error: --args {problem}");
                return 2;
            }

            using (arguments)
            {
                var snapshot = await cli.WithPoliciesAsync((_, db) => Task.FromResult(SnapshotLoader.Load(db)), ct);
                (var set, problem) = await ComposeAsync(cli, snapshot, parse.GetValue(server)!, parse.GetValue(grant), parse.GetValue(user), ct);
                if (set is null)
                {
                    cli.Error.WriteLine($"error: {problem}");
                    return 3;
                }

                var decision = PolicyEvaluator.Evaluate(set, target, name, arguments?.RootElement);
                if (cli.Json)
                {
                    cli.WriteJson(new
                    {
                        decision = decision.Outcome.ToString().ToLowerInvariant(), rule = decision.Rule, message = decision.Message,
                        policyVersion = decision.PolicyVersion, quotas = decision.Quotas.Select(q => new { q.Rule, q.Limit, per = q.WindowText }),
                    });
                }
                else
                {
                    cli.Output.WriteLine($"decision: {decision.Outcome.ToString().ToLowerInvariant()}");
                    cli.Output.WriteLine($"rule:     {decision.Rule}");
                    cli.Output.WriteLine($"policies: {decision.PolicyVersion}");
                    if (decision.Message is not null)
                    {
                        cli.Output.WriteLine($"message:  {decision.Message}");
                    }

                    foreach (var quota in decision.Quotas)
                    {
                        cli.Output.WriteLine($"quota:    {quota.Limit} calls per {quota.WindowText} ({quota.Rule})");
                    }
                }

                return 0;
            }
        });
        return command;
    }

    /// <summary>
    /// Composes the policies in force for a call to a server from a snapshot, as the gateway would: for a grant (with its
    /// owner's user and group policies), for a user signed in without a grant, or the server's alone.
    /// </summary>
    /// <returns>The set, or null and why not.</returns>
    internal static async Task<(PolicySet? Set, string? Problem)> ComposeAsync(
        CliContext cli, GatewaySnapshot snapshot, string serverName, string? grantRef, string? userRef, CancellationToken ct)
    {
        if (!snapshot.ServersByName.TryGetValue(serverName, out var server))
        {
            return (null, $"No server '{serverName}'. 'gatehouse server list' shows what exists.");
        }

        var grant = grantRef is null ? null : snapshot.GrantsByTokenHash.Values.FirstOrDefault(g => g.Label == grantRef || g.Id.ToString() == grantRef);
        if (grantRef is not null && grant is null)
        {
            return (null, $"No grant '{grantRef}'. 'gatehouse grant list' shows what exists.");
        }

        Guid? userId = null;
        if (userRef is not null)
        {
            userId = await cli.WithPoliciesAsync(async (_, db) => (await GatewayAdministration.FindUserAsync(db, userRef, ct))?.Id, ct);
            if (userId is null)
            {
                return (null, $"No user '{userRef}' (or the name is shared: use the id). 'gatehouse user list' shows them.");
            }

            // A grant's calls get its owner's policies whoever asks, so naming someone else would explain a call that cannot happen.
            if (grant is not null && grant.OwnerUserId != userId)
            {
                return (null, grant.OwnerUserId is { } owner
                    ? $"Grant '{grant.Label}' belongs to user {owner:D}, whose policies its calls get; leave out --user or name that user."
                    : $"Grant '{grant.Label}' belongs to the organisation, so no user or group policy applies to its calls; leave out --user.");
            }
        }

        return (snapshot.PolicyFor(server, grant, userId), null);
    }

    internal static (PolicyTarget Target, string? Name) TargetOf(string? tool, string? resource, string? prompt) =>
        (tool, resource, prompt) switch
        {
            ({ } t, null, null) => (PolicyTarget.Tool, t),
            // Decided as the gateway decides: on the URI's normal form (an unnormalizable one is refused there).
            (null, { } r, null) => (PolicyTarget.Resource, ResourceUri.TryNormalize(r, out var normalized, out _) ? normalized : r),
            (null, null, { } p) => (PolicyTarget.Prompt, p),
            _ => (PolicyTarget.Tool, null),
        };

    internal static bool TryParseArguments(string? json, out JsonDocument? arguments, out string? problem)
    {
        arguments = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(json))
        {
            return true;
        }

        try
        {
            arguments = JsonDocument.Parse(json);
            if (arguments.RootElement.ValueKind == JsonValueKind.Object)
            {
                return true;
            }

            arguments.Dispose();
            arguments = null;
            problem = "must be a JSON object, e.g. '{\"amount\": 5}'.";
            return false;
        }
        catch (JsonException ex)
        {
            problem = $"is not valid JSON ({ex.Message}).";
            return false;
        }
    }

    /// <summary>The options that name where a policy attaches (exactly one), shared by apply, attach and detach.</summary>
    private sealed class TargetOptions(string verb)
    {
        private readonly Option<string?> _server = new("--server") { Description = $"{verb} this server (its default policy)." };
        private readonly Option<string?> _group = new("--group") { Description = $"{verb} this identity-provider group (its members' calls)." };
        private readonly Option<string?> _user = new("--user") { Description = $"{verb} this user (id or name): their calls and their grants'." };
        private readonly Option<string?> _grant = new("--grant") { Description = $"{verb} this grant (label or id; the most specific)." };

        public void AddTo(Command command)
        {
            command.Options.Add(_server);
            command.Options.Add(_group);
            command.Options.Add(_user);
            command.Options.Add(_grant);
        }

        public AttachmentTarget Read(ParseResult parse) => new(parse.GetValue(_server), parse.GetValue(_grant), parse.GetValue(_user), parse.GetValue(_group));
    }
}
