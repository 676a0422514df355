using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class DenialMessageTests
{
    private const string Secret = "s3cr3t-VALUE-4242";

    private static readonly PolicySet Engine = Set("""
        version: 1
        default: deny
        tools:
          t:
            require:
              - { arg: a, equals: "x" }
              - { arg: b, not_equals: "x" }
              - { arg: c, in: [x, y] }
              - { arg: d, not_in: [x, y] }
              - { arg: e, matches: "^x$" }
              - { arg: f, prefix: "x" }
              - { arg: g, suffix: "x" }
              - { arg: h, contains: "x" }
              - { arg: i, max_length: 3 }
              - { arg: j, lt: 3 }
        """);

    /// <summary>Each call satisfies every condition except the one under test, which sees the secret.</summary>
    public static TheoryData<string, string> Calls => new()
    {
        { "a", $$"""{"a": "{{Secret}}"}""" },
        { "b", $$"""{"a": "x", "b": "x"}""" },
        { "c", $$"""{"a": "x", "b": "{{Secret}}", "c": "{{Secret}}"}""" },
        { "d", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "x"}""" },
        { "e", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "{{Secret}}"}""" },
        { "f", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "{{Secret}}"}""" },
        { "g", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "x", "g": "{{Secret}}"}""" },
        { "h", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "x", "g": "x", "h": "{{Secret}}"}""" },
        { "i", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "x", "g": "x", "h": "x", "i": "{{Secret}}"}""" },
        { "j", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "x", "g": "x", "h": "x", "i": "x", "j": 4242}""" },
        { "j", $$"""{"a": "x", "b": "{{Secret}}", "c": "x", "d": "{{Secret}}", "e": "x", "f": "x", "g": "x", "h": "x", "i": "x", "j": "{{Secret}}"}""" },
        { "a", $$$"""{"a": {"nested": "{{{Secret}}}"}}""" },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public void An_engine_message_names_the_rule_and_the_argument_path_but_never_the_value(string failingPath, string arguments)
    {
        var decision = Tool(Engine, "t", arguments);

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.StartsWith($"Policy rule {decision.Rule} denied this call: argument '{failingPath}' ", decision.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, decision.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("4242", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Numeric_bounds_from_the_policy_are_shown_to_help_the_caller()
    {
        var set = Set("version: 1\ndefault: deny\ntools:\n  t:\n    require: [{ arg: n, lte: 1000 }]\n    deny_if: [{ arg: s, max_length: 2 }]\n");

        Assert.EndsWith("argument 'n' must be at most 1000.", Tool(set, "t", """{"n": 1001}""").Message, StringComparison.Ordinal);
        Assert.EndsWith("argument 's' must be longer than 2.", Tool(set, "t", """{"n": 1, "s": "ab"}""").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rules_on_deny_is_used_first_then_the_policys()
    {
        var set = Set("""
            version: 1
            default: deny
            on_deny: "Ask #platform for access"
            tools:
              create_charge:
                deny_if: [{ arg: amount, gt: 1000 }]
                on_deny: "Charges over 1000 need approval"
              refund:
                deny_if: [{ arg: amount, gt: 10 }]
              delete_repo: deny
            """);

        Assert.Equal("Charges over 1000 need approval", Tool(set, "create_charge", """{"amount": 5000}""").Message);
        Assert.Equal("/tools/create_charge/deny_if/0", Tool(set, "create_charge", """{"amount": 5000}""").Rule);
        Assert.Equal("Ask #platform for access", Tool(set, "refund", """{"amount": 50}""").Message);
        Assert.Equal("Ask #platform for access", Tool(set, "delete_repo").Message);
        Assert.Equal("Ask #platform for access", Tool(set, "unknown").Message);
    }

    [Fact]
    public void The_default_deny_message_of_the_deciding_layer_is_used()
    {
        var server = Compile("version: 1\ndefault: deny\non_deny: server says no\n");
        var grant = Compile("version: 1\ndefault: deny\non_deny: grant says no\n");

        Assert.Equal("grant says no", Tool(PolicySet.Compose(server, grant), "x").Message);
        Assert.Equal("No policy rule allows tool 'x' and the policy denies by default (default deny). Ask an administrator to allow it.",
            Tool(PolicySet.Compose(Compile("version: 1\ndefault: deny\n"), null), "x").Message);
    }

    [Fact]
    public void A_denied_resource_message_does_not_echo_the_uri()
    {
        var set = Set("version: 1\ndefault: allow\nresources:\n  \"https://*\": deny\n");

        var decision = PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "https://example.com/?token=abc", null);

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.DoesNotContain("token=abc", decision.Message, StringComparison.Ordinal);
    }
}
