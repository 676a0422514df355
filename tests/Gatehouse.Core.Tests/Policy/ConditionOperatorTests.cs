using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class ConditionOperatorTests
{
    public enum Expect
    {
        Holds,
        Fails,
        Missing,
        Mismatch,
    }

    /// <summary>Operator, operand as YAML, the argument's JSON value (null: not sent), what the condition does.</summary>
    public static TheoryData<string, string, string?, Expect> Cases => new()
    {
        { "equals", "usd", "\"usd\"", Expect.Holds },
        // A lone surrogate escape is valid JSON syntax but no text: the condition fails closed instead of throwing.
        { "matches", "^a", "\"\\uD800\"", Expect.Mismatch },
        { "in", "[a, b]", "\"\\uDC00\"", Expect.Mismatch },
        { "prefix", "a", "\"a\\uD800\"", Expect.Mismatch },
        { "contains", "a", "\"a\\uD800\"", Expect.Mismatch },
        { "equals", "usd", "\"eur\"", Expect.Fails },
        { "equals", "usd", null, Expect.Missing },
        { "equals", "usd", "5", Expect.Mismatch },
        { "equals", "42", "42.0", Expect.Holds },
        { "equals", "\"42\"", "42", Expect.Mismatch },
        { "equals", "true", "true", Expect.Holds },
        { "equals", "true", "false", Expect.Fails },
        { "not_equals", "prod", "\"dev\"", Expect.Holds },
        { "not_equals", "prod", "\"prod\"", Expect.Fails },
        { "not_equals", "prod", null, Expect.Missing },
        { "not_equals", "prod", "[\"prod\"]", Expect.Mismatch },
        { "in", "[usd, eur]", "\"eur\"", Expect.Holds },
        { "in", "[usd, eur]", "\"gbp\"", Expect.Fails },
        { "in", "[usd, eur]", null, Expect.Missing },
        { "in", "[usd, eur]", "1", Expect.Mismatch },
        { "in", "[1, 2, 3]", "2", Expect.Holds },
        { "in", "[a, b, c, d, e, f, g, h, i, j]", "\"j\"", Expect.Holds },
        { "in", "[a, b, c, d, e, f, g, h, i, j]", "\"k\"", Expect.Fails },
        { "in", "[a, b, c, d, e, f, g, h, i, j]", "\"\\u006a\"", Expect.Holds },
        { "not_in", "[root, admin]", "\"alice\"", Expect.Holds },
        { "not_in", "[root, admin]", "\"root\"", Expect.Fails },
        { "not_in", "[root, admin]", null, Expect.Missing },
        { "not_in", "[root, admin]", "{}", Expect.Mismatch },
        { "lt", "10", "9.5", Expect.Holds },
        { "lt", "10", "10", Expect.Fails },
        { "lt", "10", null, Expect.Missing },
        { "lt", "10", "\"9\"", Expect.Mismatch },
        { "lte", "10", "10", Expect.Holds },
        { "lte", "10", "10.01", Expect.Fails },
        { "lte", "10", "true", Expect.Mismatch },
        { "gt", "1000", "1000.5", Expect.Holds },
        { "gt", "1000", "1000", Expect.Fails },
        { "gt", "1000", null, Expect.Missing },
        { "gt", "1000", "\"abc\"", Expect.Mismatch },
        { "gte", "-5", "-5", Expect.Holds },
        { "gte", "-5", "-6", Expect.Fails },
        { "gte", "1e3", "1000", Expect.Holds },
        { "gte", "-5", "[]", Expect.Mismatch },
        { "matches", "\"^[a-z]+$\"", "\"abc\"", Expect.Holds },
        { "matches", "\"^[a-z]+$\"", "\"abc1\"", Expect.Fails },
        { "matches", "\"^[a-z]+$\"", null, Expect.Missing },
        { "matches", "\"^[a-z]+$\"", "12", Expect.Mismatch },
        { "matches", "\"\\\\.com$\"", "\"x@e\\u0078ample.com\"", Expect.Holds },
        { "prefix", "repo/", "\"repo/a\"", Expect.Holds },
        { "prefix", "repo/", "\"rep\"", Expect.Fails },
        { "prefix", "repo/", null, Expect.Missing },
        { "prefix", "repo/", "7", Expect.Mismatch },
        { "prefix", "é", "\"\\u00e9t\\u00e9\"", Expect.Holds },
        { "prefix", "é", "\"été\"", Expect.Holds },
        { "suffix", "tè", "\"été\"", Expect.Fails },
        { "max_length", "5", "\"héllo\"", Expect.Holds },
        { "max_length", "4", "\"héllo\"", Expect.Fails },
        { "matches", "\"^h.llo$\"", "\"héllo\"", Expect.Holds },
        { "suffix", ".md", "\"README.md\"", Expect.Holds },
        { "suffix", ".md", "\"README.txt\"", Expect.Fails },
        { "suffix", ".md", "false", Expect.Mismatch },
        { "contains", "drop", "\"please drop table\"", Expect.Holds },
        { "contains", "drop", "\"select\"", Expect.Fails },
        { "contains", "drop", "[\"a\", \"drop\"]", Expect.Holds },
        { "contains", "drop", "[\"a\", \"dropped\"]", Expect.Fails },
        { "contains", "drop", null, Expect.Missing },
        { "contains", "drop", "{\"drop\": 1}", Expect.Mismatch },
        { "contains", "3", "[1, 2, 3]", Expect.Holds },
        { "contains", "3", "\"123\"", Expect.Mismatch },
        { "max_length", "5", "\"abcde\"", Expect.Holds },
        { "max_length", "5", "\"abcdef\"", Expect.Fails },
        { "max_length", "5", "\"h\\u00e9llo\"", Expect.Holds },
        { "max_length", "2", "[1, 2]", Expect.Holds },
        { "max_length", "2", "[1, 2, 3]", Expect.Fails },
        { "max_length", "5", null, Expect.Missing },
        { "max_length", "5", "12345", Expect.Mismatch },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void In_require_an_operator_allows_only_when_it_holds(string op, string operand, string? value, Expect expect)
    {
        var set = Set($"version: 1\ndefault: deny\ntools:\n  t:\n    require:\n      - {{ arg: v, {op}: {operand} }}\n");

        var decision = Tool(set, "t", value is null ? "{}" : $"{{\"v\": {value}}}");

        Assert.Equal(expect == Expect.Holds ? PolicyAction.Allow : PolicyAction.Deny, decision.Outcome);
        if (expect != Expect.Holds)
        {
            Assert.Equal("/tools/t/require/0", decision.Rule);
            Assert.Contains("'v'", decision.Message, StringComparison.Ordinal);
        }

        if (expect == Expect.Missing)
        {
            Assert.Contains("argument 'v' is required", decision.Message, StringComparison.Ordinal);
        }

        if (expect == Expect.Mismatch)
        {
            Assert.Contains("argument 'v' must be a", decision.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void In_deny_if_an_operator_denies_when_it_holds_and_fails_closed_on_a_mistyped_value(string op, string operand, string? value, Expect expect)
    {
        var set = Set($"version: 1\ndefault: deny\ntools:\n  t:\n    deny_if:\n      - {{ arg: v, {op}: {operand} }}\n");

        var decision = Tool(set, "t", value is null ? "{}" : $"{{\"v\": {value}}}");

        var denied = expect is Expect.Holds or Expect.Mismatch;
        Assert.Equal(denied ? PolicyAction.Deny : PolicyAction.Allow, decision.Outcome);
        Assert.Equal(denied ? "/tools/t/deny_if/0" : "/tools/t", decision.Rule);
        if (expect == Expect.Mismatch)
        {
            Assert.Contains("argument 'v' must be", decision.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("true", "{\"v\": 1}", true)]
    [InlineData("true", "{\"v\": \"\"}", true)]
    [InlineData("true", "{}", false)]
    [InlineData("true", "{\"v\": null}", false)]
    [InlineData("false", "{}", true)]
    [InlineData("false", "{\"v\": null}", true)]
    [InlineData("false", "{\"v\": 0}", false)]
    public void Present_tests_whether_the_argument_was_given_and_null_counts_as_absent(string present, string arguments, bool holds)
    {
        var require = Set($"version: 1\ndefault: deny\ntools:\n  t:\n    require: [{{ arg: v, present: {present} }}]\n");
        var denyIf = Set($"version: 1\ndefault: deny\ntools:\n  t:\n    deny_if: [{{ arg: v, present: {present} }}]\n");

        Assert.Equal(holds, Tool(require, "t", arguments).IsAllowed);
        Assert.Equal(!holds, Tool(denyIf, "t", arguments).IsAllowed);
    }

    [Fact]
    public void Required_paths_must_be_present_and_the_message_names_the_missing_path()
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              create_charge:
                required: [customer.id, amount]
            """);

        Assert.True(Tool(set, "create_charge", """{"customer": {"id": "c1"}, "amount": 5}""").IsAllowed);
        var missing = Tool(set, "create_charge", """{"customer": {"id": "c1"}}""");
        Assert.Equal(PolicyAction.Deny, missing.Outcome);
        Assert.Equal("/tools/create_charge/required/1", missing.Rule);
        Assert.Equal("Policy rule /tools/create_charge/required/1 denied this call: argument 'amount' is required.", missing.Message);
        var noArguments = Tool(set, "create_charge");
        Assert.Equal("/tools/create_charge/required/0", noArguments.Rule);
    }

    [Fact]
    public void All_conditions_of_a_rule_are_checked_and_the_first_failure_in_document_order_is_reported()
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              create_charge:
                required: [customer.id]
                require:
                  - { arg: currency, in: [usd, eur] }
                deny_if:
                  - { arg: amount, gt: 1000 }
                  - { arg: customer.email, matches: "@competitor\\.com$" }
            """);

        Assert.True(Tool(set, "create_charge", """{"customer": {"id": "c"}, "currency": "usd", "amount": 10}""").IsAllowed);
        Assert.Equal("/tools/create_charge/required/0", Tool(set, "create_charge", """{"currency": "gbp", "amount": 5000}""").Rule);
        Assert.Equal("/tools/create_charge/require/0", Tool(set, "create_charge", """{"customer": {"id": "c"}, "currency": "gbp", "amount": 5000}""").Rule);
        Assert.Equal("/tools/create_charge/deny_if/0", Tool(set, "create_charge", """{"customer": {"id": "c"}, "currency": "usd", "amount": 5000}""").Rule);
        var competitor = Tool(set, "create_charge", """{"customer": {"id": "c", "email": "x@competitor.com"}, "currency": "usd", "amount": 1}""");
        Assert.Equal("/tools/create_charge/deny_if/1", competitor.Rule);
        Assert.Equal("Policy rule /tools/create_charge/deny_if/1 denied this call: argument 'customer.email' matches a pattern the policy does not allow.", competitor.Message);
    }

    [Fact]
    public void A_rule_with_conditions_needs_arguments_and_one_without_does_not()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              create_charge: { deny_if: [{ arg: amount, gt: 1 }] }
              list_charges: allow
              drop_all: { action: deny }
            """);

        Assert.True(PolicyEvaluator.NeedsArguments(set, PolicyTarget.Tool, "create_charge"));
        Assert.False(PolicyEvaluator.NeedsArguments(set, PolicyTarget.Tool, "list_charges"));
        Assert.False(PolicyEvaluator.NeedsArguments(set, PolicyTarget.Tool, "drop_all"));
        Assert.False(PolicyEvaluator.NeedsArguments(set, PolicyTarget.Tool, "unknown"));
        Assert.False(PolicyEvaluator.NeedsArguments(PolicySet.Empty, PolicyTarget.Tool, "create_charge"));
    }

    [Fact]
    public void Prompt_rules_can_check_prompt_arguments()
    {
        var set = Set("""
            version: 1
            default: allow
            prompts:
              summarize:
                require: [{ arg: language, in: [en, de] }]
            """);

        Assert.True(PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "summarize", Args("""{"language": "de"}""")).IsAllowed);
        Assert.Equal("/prompts/summarize/require/0", PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "summarize", Args("""{"language": "fr"}""")).Rule);
    }
}
