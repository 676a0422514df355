using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class NamePatternTests
{
    [Theory]
    [InlineData("issues_create", "issues_create", true)]
    [InlineData("issues_create", "issues_create2", false)]
    [InlineData("issues_create", "Issues_create", false)]
    [InlineData("issues_*", "issues_", true)]
    [InlineData("issues_*", "issues_list", true)]
    [InlineData("issues_*", "issue_list", false)]
    [InlineData("issues_*", "xissues_list", false)]
    [InlineData("*_admin", "repo_admin", true)]
    [InlineData("*_admin", "_admin", true)]
    [InlineData("*_admin", "repo_admins", false)]
    [InlineData("*", "anything at all", true)]
    [InlineData("**", "anything", true)]
    [InlineData("get_?", "get_a", true)]
    [InlineData("get_?", "get_ab", false)]
    [InlineData("get_?", "get_", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "a-x-b-y-c", true)]
    [InlineData("a*b*c", "a-x-b-y-cd", false)]
    [InlineData("*secret*", "my_secret_tool", true)]
    [InlineData("*secret*", "my_tool", false)]
    [InlineData("repo_*_delete", "repo_x_delete", true)]
    [InlineData("repo_*_delete", "repo__delete", true)]
    [InlineData("repo_*_delete", "repo_delete", false)]
    public void A_pattern_matches_whole_names_ordinally(string pattern, string name, bool matches)
    {
        var set = Set($"version: 1\ndefault: allow\ntools:\n  \"{pattern}\": deny\n");

        var decision = Tool(set, name);

        Assert.Equal(matches ? PolicyAction.Deny : PolicyAction.Allow, decision.Outcome);
    }

    [Fact]
    public void Resource_patterns_match_uris_and_treat_slashes_as_ordinary_characters()
    {
        var set = Set("""
            version: 1
            default: deny
            resources:
              "file:///secrets/*": hide
              "file:///*": allow
            """);

        Assert.Equal(PolicyAction.Hide, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///secrets/a/b.txt", null).Outcome);
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///public/readme.md", null).Outcome);
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "https://example.com/", null).Outcome);
        Assert.Equal("/resources/file:~1~1~1*", PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///public/readme.md", null).Rule);
    }

    [Fact]
    public void Prompt_rules_apply_to_prompts_only()
    {
        var set = Set("""
            version: 1
            default: allow
            prompts:
              "internal_*": deny
            """);

        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Prompt, "internal_review", null).Outcome);
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "internal_review", null).Outcome);
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "internal_review", null).Outcome);
    }

    [Fact]
    public void Many_prefix_and_suffix_patterns_of_different_lengths_each_match_their_own_names()
    {
        var yaml = "version: 1\ndefault: allow\ntools:\n"
            + string.Concat(Enumerable.Range(1, 30).Select(i => $"  \"{new string('p', i)}_*\": deny\n  \"*_{new string('s', i)}\": hide\n"));
        var set = Set(yaml);

        Assert.Equal(PolicyAction.Deny, Tool(set, "ppppp_tool").Outcome);
        Assert.Equal("/tools/ppppp_*", Tool(set, "ppppp_tool").Rule);
        Assert.Equal(PolicyAction.Hide, Tool(set, "tool_sss").Outcome);
        Assert.True(PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "tool_sss"));
        Assert.Equal(PolicyAction.Allow, Tool(set, "tool").Outcome);
    }
}
