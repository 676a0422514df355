using System.Text;
using System.Text.Json;
using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Protocol;

namespace Gatehouse.Proxy.Tests.Unit;

public sealed class UrlElicitationTests
{
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"url":{}}}}}""", true)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"form":{}}}}}""", false)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}}}}""", false)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{"url":{}}}}}""", false)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"url":{}}}}}""", false)]
    [InlineData("""not json""", false)]
    public void DeclaredBy_IsTrueOnlyForAnInitializeOf2025_11_25OrLaterDeclaringUrlMode(string json, bool expected) =>
        Assert.Equal(expected, UrlElicitation.DeclaredBy(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("tools/call", """{"elicitation":{"url":{}}}""", true)]
    [InlineData("resources/read", """{"elicitation":{"url":{}}}""", true)]
    [InlineData("tools/list", """{"elicitation":{"url":{}}}""", false)]
    [InlineData("tools/call", """{"elicitation":{"form":{}}}""", false)]
    [InlineData("tools/call", """{}""", false)]
    public void DeclaredInMeta_NeedsUrlModeInTheRequestsOwnCapabilities_OnMethodsThatMayAskForInput(string method, string capabilities, bool expected)
    {
        var json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + method + "\",\"params\":{\"name\":\"x\",\"_meta\":{\"io.modelcontextprotocol/clientCapabilities\":" + capabilities + "}}}";
        Assert.Equal(expected, UrlElicitation.DeclaredInMeta(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void ErrorBody_HasTheSchemasShape_WithGatehousesFieldsBesideTheElicitations()
    {
        var error = GatewayErrors.UpstreamUserNotConnected("crm", "https://gw.example/oauth/connect/user/crm?ticket=abc", reauth: false);
        using var body = JsonDocument.Parse(UrlElicitation.ErrorBody(error, "7", "crm", "e-1"));
        var root = body.RootElement;
        Assert.Equal(7, root.GetProperty("id").GetInt32());
        var e = root.GetProperty("error");
        Assert.Equal(-32042, e.GetProperty("code").GetInt32());
        var elicitation = Assert.Single(e.GetProperty("data").GetProperty("elicitations").EnumerateArray());
        Assert.Equal(["mode", "elicitationId", "url", "message"], elicitation.EnumerateObject().Select(p => p.Name));
        Assert.Equal("url", elicitation.GetProperty("mode").GetString());
        Assert.Equal("e-1", elicitation.GetProperty("elicitationId").GetString());
        Assert.Equal(error.ConnectUrl, elicitation.GetProperty("url").GetString());
        Assert.Equal("GH1701", e.GetProperty("data").GetProperty("gatehouseError").GetString());
    }

    [Fact]
    public void WithoutGatehouseRound_RemovesOnlyTheStateGatehouseIssued()
    {
        var ours = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","inputResponses":{"connect":{"action":"accept"}},"requestState":"gatehouse-connect:e-1"}}""";
        var stripped = UrlElicitation.WithoutGatehouseRound(Encoding.UTF8.GetBytes(ours));
        Assert.NotNull(stripped);
        using var parsed = JsonDocument.Parse(stripped);
        var parameters = parsed.RootElement.GetProperty("params");
        Assert.False(parameters.TryGetProperty("requestState", out _));
        Assert.False(parameters.TryGetProperty("inputResponses", out _));
        Assert.Equal("x", parameters.GetProperty("name").GetString());

        var theirs = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","inputResponses":{"a":{}},"requestState":"upstream-state","note":"\"gatehouse-connect:"}}""";
        Assert.Null(UrlElicitation.WithoutGatehouseRound(Encoding.UTF8.GetBytes(theirs)));
    }
}
