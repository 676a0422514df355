using System.Text;
using Gatehouse.Proxy.Envelope;

namespace Gatehouse.Proxy.Tests.Unit;

public sealed class EnvelopeReaderTests
{
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{"name":"inner"},"name":"echo"}}""", JsonRpcKind.Request, "tools/call", "5", "echo")]
    [InlineData("""{"method":"resources/read","params":{"uri":"file:///a"},"id":"x","jsonrpc":"2.0"}""", JsonRpcKind.Request, "resources/read", "\"x\"", "file:///a")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", JsonRpcKind.Notification, "notifications/initialized", null, null)]
    [InlineData("""{"jsonrpc":"2.0","id":3,"result":{"method":"not-a-method"}}""", JsonRpcKind.Response, null, "3", null)]
    public void TryRead_FindsMethodIdAndName_WhereverTheyAre(string json, JsonRpcKind kind, string? method, string? rawId, string? name)
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(json), out var envelope, out _));
        Assert.Equal(kind, envelope.Kind);
        Assert.Equal(method, envelope.Method);
        Assert.Equal(rawId, envelope.RawId);
        Assert.Equal(name, envelope.Name);
    }

    [Fact]
    public void TryRead_CapturesTopLevelArgumentKeys_AndWhereTheArgumentsLie()
    {
        var json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pay","arguments":{"amount":5,"to":{"iban":"X"},"memo":"m"}}}""";
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(EnvelopeReader.Outcome.Ok, EnvelopeReader.TryRead(bytes, out var envelope, out _));
        Assert.Equal(["amount", "to", "memo"], envelope.ArgumentKeys);
        var (offset, length) = envelope.ArgumentsRange;
        Assert.Equal("""{"amount":5,"to":{"iban":"X"},"memo":"m"}""", Encoding.UTF8.GetString(bytes, offset, length));
        Assert.Equal("pay", envelope.Name);
    }

    [Fact]
    public void TryRead_Batch_ReportsWhetherAnyMemberExpectsAResponse()
    {
        var json = """[{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":1,"method":"ping"}]""";
        Assert.Equal(EnvelopeReader.Outcome.Ok, EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(json), out var envelope, out _));
        Assert.True(envelope.IsBatch);
        Assert.True(envelope.ExpectsResponse);
        Assert.Equal(["notifications/x", "ping"], envelope.Members.Select(m => m.Method));
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", EnvelopeReader.Outcome.MalformedJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",", EnvelopeReader.Outcome.MalformedJson)]
    [InlineData("[]", EnvelopeReader.Outcome.NotJsonRpc)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", EnvelopeReader.Outcome.NotJsonRpc)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", EnvelopeReader.Outcome.NotJsonRpc)]
    [InlineData("{\"id\":1,\"method\":\"ping\"}", EnvelopeReader.Outcome.NotJsonRpc)]
    public void TryRead_RejectsWhatIsNotOneJsonRpcMessage(string json, EnvelopeReader.Outcome expected)
    {
        Assert.Equal(expected, EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(json), out _, out _));
    }
}
