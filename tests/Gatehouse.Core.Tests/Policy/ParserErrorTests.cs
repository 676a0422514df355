using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class ParserErrorTests
{
    [Fact]
    public void Every_error_of_a_document_is_reported_with_its_pointer_and_line()
    {
        var errors = ParseErrors("""
            version: 3
            default: deny
            tools:
              create_charge:
                action: allow
                deny_if:
                  - { arg: amount, gt: "abc" }
                  - { arg: customer.email, matches: "([a-z" }
                limits: [{ calls: 10, per: 1y }]
                deni_if: []
              "issues_*": permit
              delete_repo:
                action: hide
                on_deny: "gone"
            prompts:
              "internal_*":
                require:
                  - { arg: topic, in: [] }
            """);

        Assert.Collection(errors,
            e => (e.Path, e.Line, e.Column).Is(("/tools/create_charge/deny_if/0/gt", 7, 28)),
            e => (e.Path, e.Line).Is(("/tools/create_charge/deny_if/1/matches", 8)),
            e => (e.Path, e.Line).Is(("/tools/create_charge/limits/0/per", 9)),
            e => (e.Path, e.Line).Is(("/tools/create_charge/deni_if", 10)),
            e => (e.Path, e.Line).Is(("/tools/issues_*", 11)),
            e => (e.Path, e.Line).Is(("/tools/delete_repo/on_deny", 14)),
            e => (e.Path, e.Line).Is(("/prompts/internal_*/require/0/in", 18)));
        Assert.Contains("takes a number such as 1000 (without quotes)", errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("not a valid .NET regular expression", errors[1].Message, StringComparison.Ordinal);
        Assert.Contains("unknown unit", errors[2].Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'deny_if'?", errors[3].Message, StringComparison.Ordinal);
        Assert.Contains("use allow, deny or hide", errors[4].Message, StringComparison.Ordinal);
        Assert.Contains("A hide rule takes no 'on_deny'", errors[5].Message, StringComparison.Ordinal);
        Assert.Contains("empty list", errors[6].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_document_is_read_like_yaml_with_its_own_lines()
    {
        var ok = Compile("""{ "version": 2, "default": "deny", "tools": { "issues_*": "allow" } }""");
        Assert.Equal(2, ok.Version);

        var errors = ParseErrors("""
            {
              "version": 2,
              "default": "deny",
              "tools": {
                "issues_*": { "action": "allow", "limits": [ { "calls": 0, "per": "1m" } ] }
              }
            }
            """);
        var error = Assert.Single(errors);
        Assert.Equal("/tools/issues_*/limits/0/calls", error.Path);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Missing_version_and_default_are_both_reported()
    {
        var errors = ParseErrors("tools:\n  x: allow\n");

        Assert.Equal(["/version", "/default"], errors.Select(e => e.Path));
        Assert.All(errors, e => Assert.Equal(1, e.Line));
        Assert.Contains("version: 1", errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version: \"3\"\ndefault: deny\n", "/version", "positive whole number")]
    [InlineData("version: 0\ndefault: deny\n", "/version", "positive whole number")]
    [InlineData("version: 1.5\ndefault: deny\n", "/version", "positive whole number")]
    [InlineData("version: 1\ndefault: hide\n", "/default", "allow or deny")]
    [InlineData("version: 1\ndefault: deny\non_deny: ~\n", "/on_deny", "text shown when a call is denied")]
    [InlineData("version: 1\ndefault: deny\nrules: {}\n", "/rules", "Allowed: version, default")]
    [InlineData("version: 1\ndefault: deny\ntools: [a, b]\n", "/tools", "maps tool name patterns to rules")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: [allow]\n", "/tools/x", "A rule is allow, deny or hide")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: {}\n", "/tools/x", "has no 'action'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { action: [allow] }\n", "/tools/x/action", "must be allow, deny or hide")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: { arg: a, gt: 1 } }\n", "/tools/x/deny_if", "is a list of conditions")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ a ] }\n", "/tools/x/deny_if/0", "A condition is a mapping")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { gt: 1 } ] }\n", "/tools/x/deny_if/0", "add 'arg'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a } ] }\n", "/tools/x/deny_if/0", "has no operator")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, gt: 1, lt: 5 } ] }\n", "/tools/x/deny_if/0/lt", "one operator")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, gtt: 1 } ] }\n", "/tools/x/deny_if/0/gtt", "Did you mean 'gt'?")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, equals: ~ } ] }\n", "/tools/x/deny_if/0/equals", "one text, number or true/false value")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, equals: [1] } ] }\n", "/tools/x/deny_if/0/equals", "one text, number or true/false value")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, in: usd } ] }\n", "/tools/x/deny_if/0/in", "takes a list of values")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, in: [1, two] } ] }\n", "/tools/x/deny_if/0/in/1", "all be of one kind")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, not_in: [] } ] }\n", "/tools/x/deny_if/0/not_in", "empty list")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, lte: \"5\" } ] }\n", "/tools/x/deny_if/0/lte", "takes a number")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, prefix: \"\" } ] }\n", "/tools/x/deny_if/0/prefix", "non-empty text")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, contains: \"\" } ] }\n", "/tools/x/deny_if/0/contains", "holds for every text value")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, max_length: -1 } ] }\n", "/tools/x/deny_if/0/max_length", "0 or more")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, present: yes } ] }\n", "/tools/x/deny_if/0/present", "takes true")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, matches: \"a+\", timeout_ms: 0 } ] }\n", "/tools/x/deny_if/0/timeout_ms", "milliseconds from 1 to 1000")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { deny_if: [ { arg: a, equals: 1, timeout_ms: 5 } ] }\n", "/tools/x/deny_if/0/timeout_ms", "only applies to 'matches'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { required: customer.id }\n", "/tools/x/required", "list of argument paths")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { required: [ [a] ] }\n", "/tools/x/required/0", "An argument path is text")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { limits: { calls: 1, per: 1m } }\n", "/tools/x/limits", "list of quotas")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { limits: [ { per: 1m } ] }\n", "/tools/x/limits/0/calls", "has no 'calls'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { limits: [ { calls: 1 } ] }\n", "/tools/x/limits/0/per", "has no 'per'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { limits: [ { calls: 1, per: 60 } ] }\n", "/tools/x/limits/0/per", "needs a unit")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { log_arguments: maybe }\n", "/tools/x/log_arguments", "true or false")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { action: hide, log_arguments: true }\n", "/tools/x/log_arguments", "A hide rule takes no 'log_arguments'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { action: hide, deny_if: [ { arg: a, gt: 1 } ] }\n", "/tools/x/deny_if", "A hide rule takes no 'deny_if'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { action: deny, require: [ { arg: a, gt: 1 } ] }\n", "/tools/x/require", "A deny rule takes no 'require'")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: { action: deny, limits: [ { calls: 1, per: 1m } ] }\n", "/tools/x/limits", "A deny rule takes no 'limits'")]
    [InlineData("version: 1\ndefault: deny\nresources:\n  \"file:///*\": { deny_if: [ { arg: a, gt: 1 } ] }\n", "/resources/file:~1~1~1*/deny_if", "Resources have no arguments")]
    [InlineData("version: 1\ndefault: deny\nall_tools:\n  limits: [ { calls: 1, per: 1m } ]\n  action: deny\n", "/all_tools/action", "Allowed: limits")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  \"a*\": allow\n  \"a**\": deny\n", "/tools/a**", "listed twice")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  a: allow\n  a: deny\n", "/tools/a", "listed twice")]
    [InlineData("version: 1\ndefault: deny\ndefault: allow\n", "/default", "appears twice")]
    public void A_single_problem_is_reported_at_its_pointer_with_a_message_that_says_what_to_do(string yaml, string path, string messagePart)
    {
        var error = SingleError(yaml);

        Assert.Equal(path, error.Path);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line >= 1);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("# just a comment\n", "empty")]
    [InlineData("version: [1\n", "not valid YAML or JSON")]
    [InlineData("version: 1\ndefault: deny\n---\nversion: 2\n", "second one")]
    [InlineData("- a\n- b\n", "A policy is a mapping")]
    [InlineData("version: 1\ndefault: deny\ntools:\n  x: *nothing\n", "not valid YAML or JSON")]
    public void A_document_that_is_not_one_policy_mapping_is_refused(string yaml, string messagePart)
    {
        var error = SingleError(yaml);

        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unquoted_path_with_brackets_in_a_flow_mapping_gets_a_hint_to_quote_it()
    {
        var error = SingleError("version: 1\ndefault: deny\ntools:\n  t:\n    require:\n      - { arg: items[0].sku, prefix: x }\n");

        Assert.Equal(6, error.Line);
        Assert.Contains("quote text that contains [ ]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_policy_that_references_arguments_in_block_style_needs_no_quotes()
    {
        var set = PolicySet.Compose(Compile("version: 1\ndefault: deny\ntools:\n  t:\n    require:\n      - arg: items[0].sku\n        prefix: SKU-\n"), null);

        Assert.True(Tool(set, "t", """{"items": [{"sku": "SKU-1"}]}""").IsAllowed);
    }

    [Fact]
    public void Anchors_and_aliases_may_share_conditions_between_rules()
    {
        var policy = Compile("""
            version: 1
            default: deny
            tools:
              create_charge: &guarded
                deny_if: [{ arg: amount, gt: 1000 }]
              refund_charge: *guarded
            """);

        var set = PolicySet.Compose(policy, null);
        Assert.Equal("/tools/refund_charge/deny_if/0", Tool(set, "refund_charge", """{"amount": 5000}""").Rule);
    }

    [Fact]
    public void An_alias_bomb_is_refused_without_expanding_it()
    {
        var yaml = "version: 1\ndefault: deny\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + string.Concat(Enumerable.Range(0, 8).Select(i => $"{(char)('b' + i)}: &{(char)('b' + i)} [*{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}, *{(char)('a' + i)}]\n"));

        var error = SingleError(yaml);

        Assert.Contains("aliases", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conditions_of_one_rule_that_no_call_could_satisfy_are_refused_rather_than_denying_every_call()
    {
        var errors = ParseErrors("""
            version: 1
            default: deny
            tools:
              a:
                required: [customer.id]
                require:
                  - { arg: customer, present: false }
              b:
                require:
                  - { arg: amount, gt: 5 }
                  - { arg: amount, prefix: "x" }
              c:
                require:
                  - { arg: "items[0]", equals: 1 }
                  - { arg: items.first, equals: 1 }
              d:
                require:
                  - { arg: mode, in: [a, b] }
                  - { arg: mode.sub, equals: 1 }
            """);

        Assert.Equal(
            ["/tools/a/require/0", "/tools/b/require/1", "/tools/c/require/1", "/tools/d/require/1"],
            errors.Select(e => e.Path));
        Assert.Equal([7, 11, 15, 19], errors.Select(e => e.Line));
        Assert.All(errors, e => Assert.Contains("deny every call", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Conditions_that_can_hold_together_are_accepted()
    {
        Compile("""
            version: 1
            default: deny
            tools:
              a:
                required: [customer.id, items]
                require:
                  - { arg: amount, gte: 1 }
                  - { arg: amount, lte: 1000 }
                  - { arg: "items[0].sku", prefix: "SKU-" }
                  - { arg: items, max_length: 10 }
                  - { arg: note, present: false }
                deny_if:
                  - { arg: customer, present: false }
            """);
    }

    [Fact]
    public void A_schema_key_is_accepted_for_editors()
    {
        Compile("$schema: ./policy.schema.json\nversion: 1\ndefault: allow\n");
    }

    [Fact]
    public void Errors_format_with_line_column_and_pointer()
    {
        var error = SingleError("version: 1\ndefault: maybe\n");

        Assert.Equal("line 2, column 10 (/default): " + error.Message, error.ToString());
    }
}

internal static class TupleAssertions
{
    public static void Is<T>(this T actual, T expected) => Assert.Equal(expected, actual);
}
