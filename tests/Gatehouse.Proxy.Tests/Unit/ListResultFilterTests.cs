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
        var filtered = ListResultFilter.Filter(Encoding.UTF8.GetBytes(json), HideSecret);
        Assert.Equal("""{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","x-extra":1},{"name":"c"}],"nextCursor":"page2","x-top":true}}""", Encoding.UTF8.GetString(filtered!));
    }

    [Fact]
    public void Filter_ReturnsNull_WhenNothingIsHidden_SoTheOriginalBytesAreRelayed()
    {
        Assert.Null(ListResultFilter.Filter("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}"""u8, HideSecret));
        Assert.Null(ListResultFilter.Filter("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"""u8, HideSecret));
        Assert.Null(ListResultFilter.Filter("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"""u8, HideSecret));
        Assert.Null(ListResultFilter.Filter("not json"u8, HideSecret));
    }

    [Fact]
    public void Filter_HandlesEveryListKind_AndBatches()
    {
        var batch = """
            [{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///secret.txt"},{"uri":"file:///ok.txt"}]}},
             {"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"secret_prompt"}]}},
             {"jsonrpc":"2.0","id":3,"result":{"resourceTemplates":[{"uriTemplate":"secret://{id}"},{"uriTemplate":"ok://{id}"}]}}]
            """;
        var filtered = Encoding.UTF8.GetString(ListResultFilter.Filter(Encoding.UTF8.GetBytes(batch), HideSecret)!);
        Assert.DoesNotContain("secret", filtered, StringComparison.Ordinal);
        Assert.Contains("file:///ok.txt", filtered, StringComparison.Ordinal);
        Assert.Contains("ok://{id}", filtered, StringComparison.Ordinal);
        Assert.Contains("\"prompts\":[]", filtered, StringComparison.Ordinal);
    }
}
