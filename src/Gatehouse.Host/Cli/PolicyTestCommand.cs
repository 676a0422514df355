using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Policy;
using Gatehouse.Storage.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Gatehouse.Host.Cli;

/// <summary>
/// <c>gatehouse policy test cases.yaml</c>: runs a user's expected-decision cases and exits non-zero on a mismatch,
/// so a policy change can be checked in CI before it is applied.
/// </summary>
/// <remarks>
/// A case names either a policy file (tested alone, relative to the cases file) or a server (and optionally a grant or a
/// user) of the data directory, whose attached policies are composed as the gateway would.
/// </remarks>
internal static class PolicyTestCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var file = new Argument<FileInfo>("cases") { Description = "A YAML file with 'cases:' (see docs/policy.md)." };
        file.AcceptExistingOnly();
        var command = new Command("test", "Run expected-decision cases; exit code 1 when any case fails.") { file };
        command.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            // AcceptExistingOnly has already refused a missing file with the parser's own message.
            var path = parse.GetValue(file)!;

            CaseFile? cases;
            IReadOnlyList<string?> argumentsJson;
            try
            {
                var text = await File.ReadAllTextAsync(path.FullName, ct);
                cases = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<CaseFile>(text);
                argumentsJson = ReadArguments(text);
            }
            catch (YamlException ex)
            {
                cli.Error.WriteLine($"error: {path.Name} line {ex.Start.Line}, column {ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}");
                return 2;
            }

            if (cases?.Cases is not { Count: > 0 })
            {
                cli.Error.WriteLine($"error: {path.Name} has no 'cases:'.");
                return 2;
            }

            GatewaySnapshot? snapshot = null;
            var files = new Dictionary<string, PolicySet>(StringComparer.Ordinal);
            var failures = 0;
            var results = new List<object>();
            foreach (var (testCase, index) in cases.Cases.Select((c, i) => (c, i)))
            {
                var label = testCase.Name ?? $"case {index + 1}";
                string? problem = null;
                PolicySet set = PolicySet.Empty;
                if (testCase.Policy is { } policyFile)
                {
                    if (!files.TryGetValue(policyFile, out set!))
                    {
                        var policyPath = Path.Combine(path.DirectoryName!, policyFile);
                        var parsed = File.Exists(policyPath) ? PolicyDocumentParser.Parse(await File.ReadAllTextAsync(policyPath, ct)) : null;
                        problem = parsed is null ? $"policy file {policyFile} does not exist"
                            : parsed.Succeeded ? null
                            : $"policy file {policyFile} is invalid:{Environment.NewLine}{Gatehouse.Admin.Administration.PolicyAdministration.FormatErrors(parsed.Errors)}";
                        set = parsed?.Policy is { } compiled ? PolicySet.Compose(compiled, null) : PolicySet.Empty;
                        files[policyFile] = set;
                    }
                }
                else if (testCase.Server is { } server)
                {
                    snapshot ??= await cli.WithPoliciesAsync((_, db) => Task.FromResult(SnapshotLoader.Load(db)), ct);
                    (var composed, problem) = await PolicyCommands.ComposeAsync(cli, snapshot, server, testCase.Grant, testCase.User, ct);
                    set = composed ?? PolicySet.Empty;
                }
                else
                {
                    problem = "a case needs 'policy: <file>' or 'server: <name>'";
                }

                var (target, name) = PolicyCommands.TargetOf(testCase.Tool, testCase.Resource, testCase.Prompt);
                if (problem is null && name is null)
                {
                    problem = "a case needs exactly one of 'tool', 'resource' or 'prompt'";
                }

                if (problem is null && testCase.Expect is not ("allow" or "deny" or "hide"))
                {
                    problem = $"'expect' must be allow, deny or hide, not '{testCase.Expect}'";
                }

                JsonDocument? arguments = null;
                if (problem is null && index < argumentsJson.Count && !PolicyCommands.TryParseArguments(argumentsJson[index], out arguments, out var argsProblem))
                {
                    problem = $"args {argsProblem}";
                }

                using (arguments)
                {
                    if (problem is not null)
                    {
                        failures++;
                        cli.Output.WriteLine($"ERROR {label}: {problem}");
                        results.Add(new { name = label, passed = false, error = problem });
                        continue;
                    }

                    var decision = PolicyEvaluator.Evaluate(set, target, name!, arguments?.RootElement);
                    var actual = decision.Outcome.ToString().ToLowerInvariant();
                    var passed = actual == testCase.Expect && (testCase.Rule is null || testCase.Rule == decision.Rule);
                    failures += passed ? 0 : 1;
                    results.Add(new { name = label, passed, expected = testCase.Expect, actual, rule = decision.Rule });
                    if (!cli.Json)
                    {
                        cli.Output.WriteLine(passed
                            ? $"ok    {label}: {actual} ({decision.Rule})"
                            : $"FAIL  {label}: expected {testCase.Expect}{(testCase.Rule is null ? "" : $" by {testCase.Rule}")}, got {actual} by {decision.Rule}");
                    }
                }
            }

            if (cli.Json)
            {
                cli.WriteJson(new { passed = results.Count - failures, failed = failures, cases = results });
            }
            else
            {
                cli.Output.WriteLine($"{results.Count - failures} passed, {failures} failed");
            }

            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>
    /// Each case's <c>args</c> as JSON. Read from the YAML node tree because untyped deserialisation turns every scalar
    /// into a string, and <c>amount: 5</c> must reach the policy as the number 5 (quoted scalars stay strings).
    /// </summary>
    private static IReadOnlyList<string?> ReadArguments(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("cases"), out var casesNode)
            || casesNode is not YamlSequenceNode sequence)
        {
            return [];
        }

        return sequence.Children.Select(node =>
            node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("args"), out var args)
                ? ToJson(args)?.ToJsonString()
                : null).ToList();
    }

    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    obj[((YamlScalarNode)key).Value!] = ToJson(value);
                }

                return obj;
            case YamlSequenceNode list:
                return new JsonArray(list.Children.Select(ToJson).ToArray());
            case YamlScalarNode { Style: ScalarStyle.Plain, Value: var plain }:
                return plain switch
                {
                    "null" or "~" or "" => null,
                    "true" => true,
                    "false" => false,
                    _ when long.TryParse(plain, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var integer) => integer,
                    _ when double.TryParse(plain, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var real) => real,
                    _ => plain,
                };
            case YamlScalarNode scalar:
                return scalar.Value;
            default:
                return null;
        }
    }

    private sealed class CaseFile
    {
        public List<Case>? Cases { get; set; }
    }

    private sealed class Case
    {
        public string? Name { get; set; }
        public string? Policy { get; set; }
        public string? Server { get; set; }
        public string? Grant { get; set; }
        public string? User { get; set; }
        public string? Tool { get; set; }
        public string? Resource { get; set; }
        public string? Prompt { get; set; }
        public object? Args { get; set; }
        public string? Expect { get; set; }
        public string? Rule { get; set; }
    }
}
