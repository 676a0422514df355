using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class RegexTimeoutTests
{
    private static readonly string Catastrophic = new string('a', 40) + "!";

    [Theory]
    [InlineData("require")]
    [InlineData("deny_if")]
    public void A_pattern_that_runs_out_of_time_denies_this_call_with_a_message(string section)
    {
        var set = Set($"version: 1\ndefault: deny\ntools:\n  search:\n    {section}:\n      - {{ arg: q, matches: \"^(a+)+$\", timeout_ms: 1 }}\n");

        var decision = Tool(set, "search", $$"""{"q": "{{Catastrophic}}"}""");

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.Equal($"/tools/search/{section}/0", decision.Rule);
        Assert.Contains("could not be checked against the rule's pattern in time", decision.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Catastrophic, decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_timeout_is_a_per_call_outcome_and_other_calls_are_still_decided()
    {
        var set = Set("version: 1\ndefault: deny\ntools:\n  search:\n    require:\n      - { arg: q, matches: \"^(a+)+$\", timeout_ms: 1 }\n");

        Assert.Equal(PolicyAction.Deny, Tool(set, "search", $$"""{"q": "{{Catastrophic}}"}""").Outcome);
        Assert.True(Tool(set, "search", """{"q": "aaaa"}""").IsAllowed);
        Assert.True(Tool(set, "search", $$"""{"q": "{{new string('a', 400)}}"}""").IsAllowed);
    }

    [Fact]
    public void Patterns_are_culture_invariant_and_match_anywhere_unless_anchored()
    {
        var set = Set("version: 1\ndefault: deny\ntools:\n  t:\n    deny_if:\n      - { arg: email, matches: \"(?i)@competitor\\\\.com$\" }\n");

        Assert.Equal(PolicyAction.Deny, Tool(set, "t", """{"email": "x@COMPETITOR.com"}""").Outcome);
        Assert.True(Tool(set, "t", """{"email": "x@competitor.com.example.org"}""").IsAllowed);
    }
}
