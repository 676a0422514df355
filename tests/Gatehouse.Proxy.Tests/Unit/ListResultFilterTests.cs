using System.Text;
using Gatehouse.Proxy.Policy;

namespace Gatehouse.Proxy.Tests.Unit;

public sealed class ListResultFilterTests
{
    private static bool HideSecret(ListedKind kind, string name) => name.Contains("secret", StringComparison.Ordinal);

    [Fact]
    public void Filter_RemovesHiddenTools_KeepsCursorAndUnknownFields()
    {
        var json = """{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","x-extra":1},{"name":"secret_b"},{"name":"c"}],"nextCursor":"page2","x-top":true}}""";
        var filtered = ListResultFilter.Apply(Encoding.UTF8.GetBytes(json), HideSecret).Replacement;
        Assert.Equal("""{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","x-extra":1},{"name":"c"}],"nextCursor":"page2","x-top":true}}""", Encoding.UTF8.GetString(filtered!));
    }

    [Fact]
    public void Filter_ReturnsNull_WhenNothingIsHidden_SoTheOriginalBytesAreRelayed()
    {
        Assert.Null(ListResultFilter.Apply("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}"""u8, HideSecret).Replacement);
        Assert.Null(ListResultFilter.Apply("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"""u8, HideSecret).Replacement);
        Assert.Null(ListResultFilter.Apply("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"""u8, HideSecret).Replacement);
        Assert.NotNull(ListResultFilter.Apply("not json"u8, HideSecret).Problem);
    }

    [Fact]
    public void Filter_HandlesEveryListKind_AndBatches()
    {
        var batch = """
            [{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///secret.txt"},{"uri":"file:///ok.txt"}]}},
             {"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"secret_prompt"}]}},
             {"jsonrpc":"2.0","id":3,"result":{"resourceTemplates":[{"uriTemplate":"secret://{id}"},{"uriTemplate":"ok://{id}"}]}}]
            """;
        var filtered = Encoding.UTF8.GetString(ListResultFilter.Apply(Encoding.UTF8.GetBytes(batch), HideSecret).Replacement!);
        Assert.DoesNotContain("secret", filtered, StringComparison.Ordinal);
        Assert.Contains("file:///ok.txt", filtered, StringComparison.Ordinal);
        Assert.Contains("ok://{id}", filtered, StringComparison.Ordinal);
        Assert.Contains("\"prompts\":[]", filtered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}""", true)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"Result":{"TOOLS":[]}}""", true)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[]}}""", true)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{}}]""", true)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}]}}""", false)]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/message","params":{"tools":[]}}""", false)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"x":{"tools":[]}}}""", false)]
    public void MayHoldList_LetsOnlyPossibleListsPayForParsing(string json, bool expected)
    {
        Assert.Equal(expected, ListResultFilter.MayHoldList(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void MayHoldList_IsTrue_ForWhatCannotBeRead()
    {
        Assert.True(ListResultFilter.MayHoldList(Encoding.UTF8.GetBytes("{\"id\":1,\"result\":" + new string('[', 300) + new string(']', 300) + "}")));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"}],"tools":[]}}""", "repeated")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"Tools":[{"name":"secret"}]}}""", "'Tools'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"rEsult":{"tools":[{"name":"secret"}]}}""", "'rEsult'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":"secret"}}""", "not an array")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":["secret"]}}""", "not an object")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":5}]}}""", "no string 'uri'")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resources":[{"URI":"secret"}]}}""", "'URI'")]
    public void Apply_ReportsWhatItCannotFilter_InsteadOfRelayingIt(string json, string reason)
    {
        var outcome = ListResultFilter.Apply(Encoding.UTF8.GetBytes(json), HideSecret);
        Assert.Null(outcome.Replacement);
        Assert.Contains(reason, outcome.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_WithAnExpectedList_RefusesAResultWithoutIt()
    {
        Assert.Contains("no 'tools' array", ListResultFilter.Apply("""{"jsonrpc":"2.0","id":1,"result":{"prompts":[]}}"""u8, HideSecret, ListedKind.Tool).Problem, StringComparison.Ordinal);
        Assert.Null(ListResultFilter.Apply("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"""u8, HideSecret, ListedKind.Tool).Problem);
        Assert.Null(ListResultFilter.Apply("""{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"""u8, HideSecret, ListedKind.Tool).Problem);
    }

    [Fact]
    public void Apply_MarksAFilteredListPrivate_OnlyWhenAsked()
    {
        var json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret"},{"name":"a"}],"cacheScope":"public"}}"""u8;
        Assert.Contains("\"cacheScope\":\"private\"", Encoding.UTF8.GetString(ListResultFilter.Apply(json, HideSecret, privateScope: true).Replacement!), StringComparison.Ordinal);
        Assert.Contains("\"cacheScope\":\"public\"", Encoding.UTF8.GetString(ListResultFilter.Apply(json, HideSecret).Replacement!), StringComparison.Ordinal);
    }
}
