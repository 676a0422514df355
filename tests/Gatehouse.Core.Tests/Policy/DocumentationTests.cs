using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Core.Policy;

namespace Gatehouse.Core.Tests.Policy;

public sealed partial class DocumentationTests
{
    private static readonly string Root = FindRepositoryRoot();

    public static TheoryData<int, string> YamlExamples()
    {
        var data = new TheoryData<int, string>();
        var markdown = File.ReadAllText(Path.Combine(Root, "docs", "policy.md"));
        foreach (Match block in YamlBlock().Matches(markdown))
        {
            var line = markdown[..block.Index].Count(c => c == '\n') + 2;
            data.Add(line, block.Groups[1].Value);
        }

        return data;
    }

    [Fact]
    public void The_policy_page_has_yaml_examples_to_check()
    {
        Assert.True(YamlExamples().Count() >= 6);
    }

    [Theory]
    [MemberData(nameof(YamlExamples))]
    public void Every_yaml_example_in_the_policy_page_parses_without_errors(int line, string yaml)
    {
        var result = PolicyDocumentParser.Parse(yaml);

        Assert.True(result.Succeeded, $"docs/policy.md example at line {line}:\n" + string.Join("\n", result.Errors));
    }

    [Fact]
    public void The_first_example_behaves_as_the_page_describes()
    {
        var yaml = (string)YamlExamples().First()[1];
        var set = PolicySet.Compose(PolicyDocumentParser.Parse(yaml).Policy, null);

        var charge = PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "create_charge",
            PolicyTestKit.Args("""{"customer": {"id": "c1"}, "currency": "usd", "amount": 5000}"""));

        Assert.Equal(PolicyAction.Deny, charge.Outcome);
        Assert.Equal("/tools/create_charge/deny_if/0", charge.Rule);
        Assert.Equal("Charges over 1000 need approval", charge.Message);
        Assert.Equal("server:3", charge.PolicyVersion);
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "delete_repo"));
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Resource, "file:///secrets/key.pem"));
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "internal_notes", null).Outcome);
        Assert.Equal("Ask #platform for access", PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "pulls_list", null).Message);
    }

    [Fact]
    public void The_group_and_user_example_behaves_as_the_page_describes()
    {
        var examples = YamlExamples().Select(row => (string)row[1]).ToList();
        var contractors = PolicyDocumentParser.Parse(examples.Single(y => y.Contains("--group contractors", StringComparison.Ordinal))).Policy!;
        var alicePolicy = PolicyDocumentParser.Parse(examples.Single(y => y.Contains("--user alice", StringComparison.Ordinal))).Policy!;
        var alice = Guid.NewGuid();
        var other = PolicySet.Compose(null, [("contractors", contractors)], null, null);
        var set = PolicySet.Compose(null, [("contractors", contractors)], (alice, alicePolicy), null);

        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(other, PolicyTarget.Tool, "issues_list", null).Outcome);
        Assert.Equal("(default deny)", PolicyEvaluator.Evaluate(other, PolicyTarget.Tool, "pulls_list", null).Rule);
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "pulls_list", null).Outcome);
        var deploy = PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "deploy", null);
        Assert.Equal([$"user={alice:D}:/tools/deploy/limits/0"], deploy.Quotas.Select(q => q.Key));
        Assert.Equal($"group=contractors:2,user={alice:D}:1", deploy.PolicyVersion);
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "issues_delete", null).Outcome);
    }

    [Fact]
    public void The_schema_is_draft_2020_12_and_lists_exactly_the_operators_the_parser_knows()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "docs", "policy.schema.json")));
        var root = schema.RootElement;
        var condition = root.GetProperty("$defs").GetProperty("condition");

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", root.GetProperty("$schema").GetString());
        Assert.Equal(
            ["arg", "timeout_ms", .. PolicyDocumentParser.Operators],
            condition.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            PolicyDocumentParser.Operators,
            condition.GetProperty("oneOf").EnumerateArray().Select(o => o.GetProperty("required")[0].GetString()));
        Assert.Equal(
            ["$schema", "version", "default", "on_deny", "tools", "prompts", "resources", "all_tools"],
            root.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["action", "required", "require", "deny_if", "limits", "log_arguments", "on_deny"],
            root.GetProperty("$defs").GetProperty("rule").GetProperty("properties").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void The_policy_page_documents_every_operator()
    {
        var markdown = File.ReadAllText(Path.Combine(Root, "docs", "policy.md"));

        Assert.All(PolicyDocumentParser.Operators, op => Assert.Contains($"`{op}`", markdown, StringComparison.Ordinal));
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gatehouse.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Gatehouse.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^```yaml\\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
