using System.Text;
using Gatehouse.Proxy.Envelope;

namespace Gatehouse.Proxy.Tests.Unit;

/// <summary>The envelope reader decides on exactly what an upstream will execute, whatever its JSON parser does with ambiguity.</summary>
public sealed class EnvelopeHardeningTests
{
    private static EnvelopeReader.Outcome Read(string json, out JsonRpcEnvelope envelope, out string? problem) =>
        EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(json), out envelope, out problem);

    [Fact]
    public void ResourcesRead_IsDecidedOnTheUri_NotOnADecoyName()
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://static-text","name":"test://ok"}}""", out var envelope, out _));
        Assert.Equal("test://static-text", envelope.Name);
    }

    [Fact]
    public void ToolsCall_IsDecidedOnTheName_NotOnADecoyUri()
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"uri":"echo","name":"delete_repo"}}""", out var envelope, out _));
        Assert.Equal("delete_repo", envelope.Name);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_repo"}}""", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\u0061me":"delete_repo"}}""", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""", "id")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}""", "method")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"params":{"name":"delete_repo"}}""", "params")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a","text":"b"}}}""", "text")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"deep":[{"x":{"k":1,"k":2}}]}}}""", "k")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"a":1,"a":1}}}""", "a")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"x"}]}}""", "tools")]
    public void RepeatedKey_AtAnyDepth_IsRefused_NamingTheKey(string json, string key)
    {
        Assert.Equal(EnvelopeReader.Outcome.DuplicateKey, Read(json, out _, out var problem));
        Assert.Equal(key, problem);
        var error = EnvelopeReader.ErrorFor(EnvelopeReader.Outcome.DuplicateKey, problem);
        Assert.Equal(-32600, error.JsonRpcCode);
        Assert.Equal("GH1310", error.Code);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManyKeys_InOneObject_AreCheckedWithoutQuadraticCost_AndARepeatIsStillFound()
    {
        var keys = string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"k{i}\":{i}"));
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{""" + keys + "}}}", out var envelope, out _));
        Assert.Equal(5000, envelope.ArgumentKeys.Count);
        Assert.Equal(EnvelopeReader.Outcome.DuplicateKey, Read("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{""" + keys + ""","k4999":0}}}""", out _, out var problem));
        Assert.Equal("k4999", problem);
    }

    [Fact]
    public void SameKey_InSiblingObjects_IsNotARepeat()
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]}}}""", out _, out _));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","Params":{"name":"delete_repo"}}""", "Params", "params")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"delete_repo"}}""", "Name", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","method":"ping"}""", "METHOD", "method")]
    [InlineData("""{"jsonrpc":"2.0","Id":1,"method":"ping"}""", "Id", "id")]
    [InlineData("""{"JsonRpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}""", "JsonRpc", "jsonrpc")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"test://ok","URI":"test://static-text"}}""", "URI", "uri")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Arguments":{"text":"x"}}}""", "Arguments", "arguments")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","paramſ":{}},"paramſ":{"name":"delete_repo"}}""", "paramſ", "params")]
    public void CaseVariant_OfADecidedKey_IsRefused_NamingBoth(string json, string key, string decided)
    {
        Assert.Equal(EnvelopeReader.Outcome.CaseVariantKey, Read(json, out _, out var problem));
        var error = EnvelopeReader.ErrorFor(EnvelopeReader.Outcome.CaseVariantKey, problem);
        Assert.Equal(-32600, error.JsonRpcCode);
        Assert.Equal("GH1311", error.Code);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{decided}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CaseVariants_InsideArguments_AreLeftToTheTool()
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"Name":"a","name":"b"}}}""", out _, out _));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete\u005frepo"}}""", "delete_repo")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"\u0075ri":"test:\/\/static-text"}}""", "test://static-text")]
    public void Escapes_AreDecodedBeforeMatching(string json, string target)
    {
        Assert.Equal(EnvelopeReader.Outcome.Ok, Read(json, out var envelope, out _));
        Assert.Equal(target, envelope.Name);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call"}""", "tools/call", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}""", "tools/call", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["delete_repo"]}}""", "tools/call", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}""", "tools/call", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":5}}""", "prompts/get", "name")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"test://static-text"}}""", "resources/read", "uri")]
    [InlineData("""{"jsonrpc":"2.0","method":"tools/call","params":{"uri":"x"}}""", "tools/call", "name")]
    public void DecidedMethod_WithoutAReadableTarget_IsRefused(string json, string method, string field)
    {
        Assert.Equal(EnvelopeReader.Outcome.UnreadableTarget, Read(json, out _, out var problem));
        var error = EnvelopeReader.ErrorFor(EnvelopeReader.Outcome.UnreadableTarget, problem);
        Assert.Equal("GH1312", error.Code);
        Assert.Contains(method, error.Message, StringComparison.Ordinal);
        Assert.Contains($"params.{field}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchMember_WithAProblem_RefusesTheBatch()
    {
        Assert.Equal(EnvelopeReader.Outcome.DuplicateKey, Read("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a","name":"b"}}]""", out _, out _));
        Assert.Equal(EnvelopeReader.Outcome.UnreadableTarget, Read("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call"}]""", out _, out _));
    }

    [Fact]
    public void RepeatedKeyCheck_AllocatesNothingPerKey_ForSmallObjects()
    {
        static string Body(int keys) => """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"""
            + string.Join(",", Enumerable.Range(0, keys).Select(i => $"\"key{i:D2}\":{{\"v\":{i}}}")) + "}}}";
        var one = Encoding.UTF8.GetBytes(Body(1));
        var thirty = Encoding.UTF8.GetBytes(Body(30));
        static long Allocated(byte[] body)
        {
            Read(body);
            var before = GC.GetAllocatedBytesForCurrentThread();
            Read(body);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        static void Read(byte[] body) => Assert.Equal(EnvelopeReader.Outcome.Ok, EnvelopeReader.TryRead(body, out _, out _));

        Assert.Equal(Allocated(one), Allocated(thirty));
    }
}
