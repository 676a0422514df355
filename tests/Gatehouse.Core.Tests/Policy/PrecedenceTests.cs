using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class PrecedenceTests
{
    [Fact]
    public void No_policy_at_all_allows_with_rule_no_policy()
    {
        var decision = Tool(PolicySet.Empty, "anything");

        Assert.Equal(PolicyAction.Allow, decision.Outcome);
        Assert.Equal("(no policy)", decision.Rule);
        Assert.Equal("none", decision.PolicyVersion);
        Assert.Empty(decision.Quotas);
        Assert.Same(PolicySet.Empty, PolicySet.Compose(null, null));
    }

    [Theory]
    [InlineData("allow", PolicyAction.Allow, "(default allow)")]
    [InlineData("deny", PolicyAction.Deny, "(default deny)")]
    public void When_no_rule_matches_the_default_decides(string @default, PolicyAction outcome, string rule)
    {
        var decision = Tool($"version: 7\ndefault: {@default}\ntools:\n  other: allow\n", "unmatched");

        Assert.Equal(outcome, decision.Outcome);
        Assert.Equal(rule, decision.Rule);
        Assert.Equal("server:7", decision.PolicyVersion);
    }

    [Fact]
    public void Within_a_policy_the_most_restrictive_matching_action_wins()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              "*": allow
              "repo_*": deny
              "repo_delete": allow
              "*_delete": hide
            """);

        var delete = Tool(set, "repo_delete");
        var read = Tool(set, "repo_read");
        var list = Tool(set, "list");

        Assert.Equal(PolicyAction.Hide, delete.Outcome);
        Assert.Equal("(hidden)", delete.Rule);
        Assert.Equal("Unknown tool: repo_delete", delete.Message);
        Assert.Equal(PolicyAction.Deny, read.Outcome);
        Assert.Equal("/tools/repo_*", read.Rule);
        Assert.Equal(PolicyAction.Allow, list.Outcome);
        Assert.Equal("/tools/*", list.Rule);
    }

    [Fact]
    public void An_allowed_call_reports_the_most_specific_matching_rule()
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              "*": allow
              "issues_*": allow
              "issues_list": allow
              "issues_?ist": allow
            """);

        Assert.Equal("/tools/issues_list", Tool(set, "issues_list").Rule);
        Assert.Equal("/tools/issues_?ist", Tool(set, "issues_fist").Rule);
        Assert.Equal("/tools/issues_*", Tool(set, "issues_create").Rule);
        Assert.Equal("/tools/*", Tool(set, "pulls_list").Rule);
    }

    [Fact]
    public void Conditions_of_every_matching_rule_must_hold()
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              "*":
                deny_if: [{ arg: dry_run, equals: false }]
              "deploy_*":
                require: [{ arg: env, in: [staging] }]
            """);

        Assert.True(Tool(set, "deploy_app", """{"env": "staging", "dry_run": true}""").IsAllowed);
        Assert.Equal("/tools/deploy_*/require/0", Tool(set, "deploy_app", """{"env": "prod", "dry_run": false}""").Rule);
        Assert.Equal("/tools/*/deny_if/0", Tool(set, "deploy_app", """{"env": "staging", "dry_run": false}""").Rule);
    }

    [Theory]
    [InlineData("""{}""", null)]
    [InlineData("""{"a": 1}""", "/tools/*/deny_if/0")]
    [InlineData("""{"a": 1, "c": 1}""", "/tools/abc*/deny_if/0")]
    [InlineData("""{"a": 1, "c": 1, "f": 1}""", "/tools/abcdef/deny_if/0")]
    [InlineData("""{"b": 1, "e": 1}""", "/tools/abcde*/deny_if/0")]
    public void With_many_conditional_rules_the_failure_of_the_most_specific_rule_is_reported(string arguments, string? rule)
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              "*": { deny_if: [{ arg: a, present: true }] }
              "a*": { deny_if: [{ arg: b, present: true }] }
              "ab*": { deny_if: [{ arg: c, present: true }] }
              "abc*": { deny_if: [{ arg: c, present: true }] }
              "abcd*": { deny_if: [{ arg: d, present: true }] }
              "abcde*": { deny_if: [{ arg: e, present: true }] }
              "abcdef": { deny_if: [{ arg: f, present: true }] }
            """);

        var decision = Tool(set, "abcdef", arguments);

        Assert.Equal(rule ?? "/tools/abcdef", decision.Rule);
        Assert.Equal(rule is null, decision.IsAllowed);
    }

    [Fact]
    public void A_hidden_entry_is_hidden_even_when_another_rule_denies_or_allows_it()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              secret_tool: deny
              "secret_*": hide
            """);

        Assert.Equal(PolicyAction.Hide, Tool(set, "secret_tool").Outcome);
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "secret_tool"));
        Assert.False(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "public_tool"));
        Assert.False(PolicyEvaluator.IsHidden(PolicySet.Empty, PolicyTarget.Tool, "secret_tool"));
    }

    [Fact]
    public void A_denied_entry_is_listed_but_refused_while_a_hidden_one_is_neither()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              delete_repo: hide
              archive_repo: deny
            """);

        Assert.False(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "archive_repo"));
        Assert.Equal(PolicyAction.Deny, Tool(set, "archive_repo").Outcome);
        Assert.Equal("Policy rule /tools/archive_repo denies tool 'archive_repo'. Ask an administrator if you need it.", Tool(set, "archive_repo").Message);
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "delete_repo"));
    }

    [Fact]
    public void Across_layers_a_deny_in_the_server_policy_wins_over_an_allow_in_the_grant_policy()
    {
        var server = Compile("version: 3\ndefault: allow\ntools:\n  delete_repo: deny\n");
        var grant = Compile("version: 1\ndefault: allow\ntools:\n  delete_repo: allow\n");

        var decision = Tool(PolicySet.Compose(server, grant), "delete_repo");

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.Equal("/tools/delete_repo", decision.Rule);
        Assert.Equal("server:3,grant:1", decision.PolicyVersion);
    }

    [Fact]
    public void Across_layers_a_deny_in_the_grant_policy_wins_over_an_allow_in_the_server_policy()
    {
        var server = Compile("version: 3\ndefault: deny\ntools:\n  \"issues_*\": allow\n");
        var grant = Compile("version: 1\ndefault: deny\ntools:\n  issues_delete: deny\n");
        var set = PolicySet.Compose(server, grant);

        Assert.Equal(PolicyAction.Deny, Tool(set, "issues_delete").Outcome);
        Assert.Equal(PolicyAction.Allow, Tool(set, "issues_list").Outcome);
        Assert.Equal("/tools/issues_*", Tool(set, "issues_list").Rule);
    }

    [Fact]
    public void Across_layers_the_default_comes_from_the_most_specific_layer_that_has_a_policy()
    {
        var server = Compile("version: 3\ndefault: deny\n");
        var grant = Compile("version: 1\ndefault: allow\n");

        Assert.Equal("(default allow)", Tool(PolicySet.Compose(server, grant), "x").Rule);
        Assert.Equal("(default deny)", Tool(PolicySet.Compose(grant, server), "x").Rule);
        Assert.Equal("(default deny)", Tool(PolicySet.Compose(server, null), "x").Rule);
        Assert.Equal("(default allow)", Tool(PolicySet.Compose(null, grant), "x").Rule);
        Assert.Equal("grant:1", Tool(PolicySet.Compose(null, grant), "x").PolicyVersion);
    }

    [Fact]
    public void Across_layers_conditions_of_both_layers_apply()
    {
        var server = Compile("version: 3\ndefault: deny\ntools:\n  charge:\n    deny_if: [{ arg: amount, gt: 1000 }]\n");
        var grant = Compile("version: 1\ndefault: deny\ntools:\n  charge:\n    deny_if: [{ arg: amount, gt: 100 }]\n");
        var set = PolicySet.Compose(server, grant);

        Assert.True(Tool(set, "charge", """{"amount": 50}""").IsAllowed);
        Assert.Equal("/tools/charge/deny_if/0", Tool(set, "charge", """{"amount": 500}""").Rule);
        Assert.Equal(PolicyAction.Deny, Tool(set, "charge", """{"amount": 5000}""").Outcome);
    }

    [Fact]
    public void A_hide_in_any_layer_hides()
    {
        var server = Compile("version: 3\ndefault: allow\ntools:\n  \"admin_*\": hide\n");
        var grant = Compile("version: 1\ndefault: allow\ntools:\n  admin_panel: allow\n");
        var set = PolicySet.Compose(server, grant);

        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "admin_panel"));
        Assert.Equal(PolicyAction.Hide, Tool(set, "admin_panel").Outcome);
    }

    [Fact]
    public void More_layers_can_be_stacked_and_each_needs_its_own_name()
    {
        var server = Compile("version: 3\ndefault: deny\ntools:\n  \"*\": allow\n");
        var group = Compile("version: 2\ndefault: deny\ntools:\n  drop: deny\n");
        var user = Compile("version: 5\ndefault: allow\n");

        var set = PolicySet.FromLayers([new PolicyLayer("server", server), new PolicyLayer("group", group), new PolicyLayer("user", user)]);

        Assert.Equal("server:3,group:2,user:5", set.Version);
        Assert.Equal(PolicyAction.Deny, Tool(set, "drop").Outcome);
        Assert.Equal("/tools/*", Tool(set, "read").Rule);
        Assert.Throws<ArgumentException>(() => PolicySet.FromLayers([new PolicyLayer("server", server), new PolicyLayer("server", user)]));
        Assert.Throws<ArgumentException>(() => new PolicyLayer("a:b", server));
    }

    [Fact]
    public void A_policy_that_stands_for_a_broken_one_denies_everything_even_what_another_layer_allows()
    {
        var server = Compile("version: 3\ndefault: allow\ntools:\n  \"*\": allow\n");
        var set = PolicySet.Compose(server, CompiledPolicy.DenyAll("team-policy"));

        var decision = Tool(set, "anything");

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.Contains("team-policy", decision.Message, StringComparison.Ordinal);
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///x", null).Outcome);
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "p", null).Outcome);
        Assert.Equal("server:3,grant:0", decision.PolicyVersion);
    }

    [Fact]
    public void Hidden_prompts_and_resources_are_answered_as_unknown()
    {
        var set = Set("version: 1\ndefault: allow\nprompts:\n  \"internal_*\": hide\nresources:\n  \"file:///secrets/*\": hide\n");

        var prompt = PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "internal_review", null);
        var resource = PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///secrets/key", null);

        Assert.Equal((PolicyAction.Hide, "(hidden)", "Unknown prompt: internal_review"), (prompt.Outcome, prompt.Rule, prompt.Message));
        Assert.Equal((PolicyAction.Hide, "(hidden)", "Resource not found: file:///secrets/key"), (resource.Outcome, resource.Rule, resource.Message));
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Prompt, "internal_review"));
        Assert.False(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "internal_review"));
    }

    [Fact]
    public void Decisions_are_the_same_from_many_threads_at_once()
    {
        var set = Set("version: 1\ndefault: deny\ntools:\n  \"issues_*\": allow\n  charge:\n    deny_if: [{ arg: amount, gt: 10 }]\n");
        var small = Args("""{"amount": 5}""");
        var large = Args("""{"amount": 50}""");

        Parallel.For(0, 2000, i =>
        {
            Assert.True(PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "issues_" + i, null).IsAllowed);
            Assert.Equal(i % 2 == 0, PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "charge", i % 2 == 0 ? small : large).IsAllowed);
        });
    }

    [Fact]
    public void Log_arguments_is_on_only_when_a_matching_rule_opts_in_and_none_opts_out()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              "charge_*": { action: allow, log_arguments: true }
              charge_card: { action: allow, log_arguments: false }
            """);

        Assert.True(Tool(set, "charge_refund").ArgumentsMayBeLogged);
        Assert.False(Tool(set, "charge_card").ArgumentsMayBeLogged);
        Assert.False(Tool(set, "other").ArgumentsMayBeLogged);
    }
}
