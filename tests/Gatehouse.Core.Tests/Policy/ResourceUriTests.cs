using Gatehouse.Core.Policy;

namespace Gatehouse.Core.Tests.Policy;

public sealed class ResourceUriTests
{
    [Theory]
    [InlineData("test://static-text", "test://static-text")]
    [InlineData("TEST://static-text", "test://static-text")]
    [InlineData("test://STATIC-TEXT", "test://static-text")]
    [InlineData("test://static-text/", "test://static-text")]
    [InlineData("test://static-text#x", "test://static-text")]
    [InlineData("test://static-text?", "test://static-text")]
    [InlineData("test://static%2Dtext", "test://static-text")]
    [InlineData("test://static-text/a/../", "test://static-text")]
    [InlineData("file:///a/./b/../c", "file:///a/c")]
    [InlineData("file:///a/%2E%2E/secret", "file:///secret")]
    [InlineData("file:///A/B", "file:///A/B")]
    [InlineData("file:///a%2fb", "file:///a%2Fb")]
    [InlineData("https://User@Example.COM:8443/Path?Q=1#frag", "https://User@example.com:8443/Path?Q=1")]
    [InlineData("file:///résumé.txt", "file:///r%C3%A9sum%C3%A9.txt")]
    [InlineData("urn:isbn:0451450523", "urn:isbn:0451450523")]
    public void Normalize_BringsEquivalentSpellingsToOneForm(string uri, string expected)
    {
        Assert.True(ResourceUri.TryNormalize(uri, out var normalized, out var problem), problem);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("test://static-text ", "whitespace")]
    [InlineData(" test://static-text", "scheme")]
    [InlineData("test://static-text\u00A0", "non-ASCII")]
    [InlineData("test://static-text\u200B", "non-ASCII")]
    [InlineData("test://static-text\t", "whitespace")]
    [InlineData("test://static\\text", "percent-encode")]
    [InlineData("test://static-text%", "'%'")]
    [InlineData("test://static-text%G1", "'%'")]
    [InlineData("static-text", "scheme")]
    [InlineData("", "scheme")]
    public void Normalize_RefusesWhatCannotBeNormalized(string uri, string reason)
    {
        Assert.False(ResourceUri.TryNormalize(uri, out _, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TEST://Static-Text", "test://static-text")]
    [InlineData("test://static-text/", "test://static-text")]
    [InlineData("file:///Secrets/*", "file:///Secrets/*")]
    [InlineData("HTTPS://*.Example.com/*", "https://*.example.com/*")]
    [InlineData("test://template/*", "test://template/*")]
    [InlineData("test://a%2db*", "test://a-b*")]
    public void NormalizePattern_KeepsWildcards_AndMatchesNormalizedUris(string pattern, string expected)
    {
        Assert.Equal(expected, ResourceUri.NormalizePattern(pattern));
    }

    [Fact]
    public void PolicyPatterns_ForResources_AreNormalizedAtLoad_AndDotSegmentsAreRefused()
    {
        var policy = PolicyDocumentParser.Parse("""
            version: 1
            default: allow
            resources:
              "TEST://Static-Text/": deny
            """);
        var set = PolicySet.Compose(policy.Policy!, null);
        Assert.Equal(PolicyAction.Deny, PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "test://static-text", null).Outcome);

        var dotted = PolicyDocumentParser.Parse("""
            version: 1
            default: allow
            resources:
              "file:///a/../secrets/*": deny
            """);
        Assert.Null(dotted.Policy);
        Assert.Contains(dotted.Errors, e => e.Message.Contains("'..'", StringComparison.Ordinal));
    }
}
