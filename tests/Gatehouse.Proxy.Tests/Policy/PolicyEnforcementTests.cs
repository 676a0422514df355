using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Policy;

public sealed class PolicyEnforcementTests
{
    private const string HideAddDenyBigEcho = """
        version: 1
        default: allow
        tools:
          add: hide
          echo:
            require:
              - { arg: text, max_length: 10 }
            on_deny: "Echo is limited to 10 characters."
        """;

    [Fact]
    public async Task HiddenTool_DisappearsFromTheList_AndACallIsAnsweredLikeAnUnknownTool()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);

        var tools = await client.ListToolsAsync();
        Assert.DoesNotContain(tools, t => t.Name == "add");
        Assert.Contains(tools, t => t.Name == "echo");

        var hidden = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }).AsTask());
        var missing = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("no_such_tool").AsTask());
        Assert.Equal(missing.ErrorCode, hidden.ErrorCode);
        Assert.Equal(missing.Message.Replace("no_such_tool", "add", StringComparison.Ordinal), hidden.Message);
        Assert.DoesNotContain(s.Upstream.Requests, r => r.Body?.Contains("\"add\"", StringComparison.Ordinal) == true && r.Body.Contains("tools/call", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListChangedNotifications_StillReachTheClient_UnderAPolicy()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            changed.TrySetResult();
            return ValueTask.CompletedTask;
        });

        await client.CallToolAsync("notify_list_changed");
        await changed.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ArgumentRule_DeniesWithItsRuleAndMessage_NeverEchoingTheValue()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);

        var ok = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "short" });
        Assert.Equal("short", Assert.IsType<TextContentBlock>(ok.Content.Single()).Text);

        using var init = await s.Gateway.PostAsync(s.Server, s.Token, GatewayHarness.InitializeBody);
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        using var denied = await s.Gateway.PostAsync(s.Server, s.Token,
            """{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a-secret-value-that-is-long"}}}""",
            r =>
            {
                r.Headers.Add("Mcp-Session-Id", session);
                r.Headers.Add("MCP-Protocol-Version", "2025-11-25");
            });
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        var body = await GatewayHarness.ReadJsonRpcAsync(denied);
        var error = body.GetProperty("error");
        Assert.Equal(9, body.GetProperty("id").GetInt32());
        Assert.Equal(-32004, error.GetProperty("code").GetInt32());
        Assert.Equal("GH1601", GatewayHarness.ErrorCode(body));
        Assert.Equal("/tools/echo/require/0", error.GetProperty("data").GetProperty("rule").GetString());
        Assert.Equal("Echo is limited to 10 characters.", error.GetProperty("message").GetString());
        Assert.DoesNotContain("a-secret-value", body.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(s.Upstream.Requests, r => r.Body?.Contains("a-secret-value", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Quota_RefusesTheCallOverTheLimit_AndSaysWhenItResets()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Stateless);
        await s.Gateway.ApplyPolicyAsync("q", """
            version: 1
            default: allow
            tools:
              echo:
                limits: [{ calls: 2, per: 1h }]
            """, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token, options: new McpClientOptions { ProtocolVersion = "2026-07-28" });

        await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "1" });
        await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "2" });
        var refused = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "3" }).AsTask());
        Assert.Contains("resets at", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, s.Upstream.Requests.Count(r => r.Body?.Contains("tools/call", StringComparison.Ordinal) == true));

        // Other tools are not charged by echo's quota.
        var sum = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 });
        Assert.Equal("2", Assert.IsType<TextContentBlock>(sum.Content.Single()).Text);
    }

    [Fact]
    public async Task NewPolicy_AppliesToTheNextRequest_WithoutTheClientReconnecting()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);
        Assert.Contains(await client.ListToolsAsync(), t => t.Name == "add");

        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        Assert.DoesNotContain(await client.ListToolsAsync(), t => t.Name == "add");

        var (code, _, _) = await s.Gateway.CliAsync("policy", "detach", "--server", s.Server);
        Assert.Equal(0, code);
        Assert.Contains(await client.ListToolsAsync(), t => t.Name == "add");
    }

    [Fact]
    public async Task InvalidPolicy_IsRefusedWithLineAndField_AndThePreviousOneStaysInForce()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);

        var file = Path.Combine(s.Gateway.DataDirectory, "broken.yaml");
        await File.WriteAllTextAsync(file, "version: 2\ndefault: allow\ntools:\n  echo:\n    deny_if:\n      - { arg: text, gt: \"not a number\" }\n");
        var (code, _, error) = await s.Gateway.CliAsync("policy", "apply", "-f", file, "--name", "p");
        Assert.NotEqual(0, code);
        Assert.Contains("line 6", error, StringComparison.Ordinal);
        Assert.Contains("/tools/echo/deny_if/0/gt", error, StringComparison.Ordinal);

        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);
        Assert.DoesNotContain(await client.ListToolsAsync(), t => t.Name == "add");
    }

    [Fact]
    public async Task GrantPolicy_OverridesTheServerDefault_ButAServerDenyStillWins()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("server-default", """
            version: 1
            default: deny
            tools:
              add: deny
            """, "--server", s.Server);
        await s.Gateway.ApplyPolicyAsync("laptop-extra", """
            version: 1
            default: allow
            tools:
              add: allow
            """, "--grant", "laptop");
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);

        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "default from the grant" });
        Assert.Equal("default from the grant", Assert.IsType<TextContentBlock>(echo.Content.Single()).Text);
        var add = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }).AsTask());
        Assert.Equal(-32004, (int)add.ErrorCode);
    }

    [Fact]
    public async Task EveryRequest_IsInTheDecisionLog_WithRuleAndArgumentKeys_ButNoValuesUnlessOptedIn()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful);
        await s.Gateway.ApplyPolicyAsync("p", """
            version: 4
            default: allow
            tools:
              echo:
                deny_if: [{ arg: text, equals: forbidden-word }]
              add:
                log_arguments: true
            """, "--server", s.Server);
        await using (var client = await s.Gateway.ConnectAsync(s.Server, s.Token))
        {
            await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "value-not-logged" });
            await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "forbidden-word" }).AsTask());
            await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 20, ["b"] = 22 });
        }

        await s.Gateway.StopAsync();
        var (code, output, error) = await s.Gateway.CliAsync("logs", "--format", "jsonl", "--server", s.Server);
        Assert.True(code == 0, error);
        var records = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var calls = records.Where(r => r["method"]!.GetValue<string>() == "tools/call").ToList();
        Assert.Equal(3, calls.Count);

        var allowedEcho = calls.Single(r => r["target"]!.GetValue<string>() == "echo" && r["decision"]!.GetValue<string>() == "allow");
        Assert.Equal("laptop", allowedEcho["principalLabel"]!.GetValue<string>());
        Assert.Equal(["text"], allowedEcho["argumentKeys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.Equal(200, allowedEcho["upstreamStatus"]!.GetValue<int>());
        Assert.Equal("server:4", allowedEcho["policyVersion"]!.GetValue<string>());

        var deniedEcho = calls.Single(r => r["decision"]!.GetValue<string>() == "deny");
        Assert.Equal("/tools/echo/deny_if/0", deniedEcho["rule"]!.GetValue<string>());
        Assert.Null(deniedEcho["upstreamStatus"]);

        var add = calls.Single(r => r["target"]!.GetValue<string>() == "add");
        Assert.Contains("22", add["argumentValuesJson"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("value-not-logged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("forbidden-word", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegacyClientOnLegacyUpstream_GetsFilteredListsOnItsStream()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.LegacySse);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token, HttpTransportMode.Sse, path: "/sse");

        var tools = await client.ListToolsAsync();
        Assert.DoesNotContain(tools, t => t.Name == "add");
        Assert.Contains(tools, t => t.Name == "echo");
        var hidden = await Assert.ThrowsAnyAsync<Exception>(() => client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }).AsTask());
        Assert.Contains("Unknown tool", hidden.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UpstreamMode.LegacySse, "sse")]
    [InlineData(UpstreamMode.StreamableStateful, "streamable-http")]
    public async Task BridgedSessions_AreFilteredAndEnforcedToo(UpstreamMode mode, string transport)
    {
        await using var s = await ProxyScenario.StartAsync(mode, transport: transport);
        await s.Gateway.ApplyPolicyAsync("p", HideAddDenyBigEcho, "--server", s.Server);
        var clientMode = mode == UpstreamMode.LegacySse ? HttpTransportMode.StreamableHttp : HttpTransportMode.Sse;
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token, clientMode,
            new McpClientOptions { ProtocolVersion = clientMode == HttpTransportMode.StreamableHttp ? "2025-11-25" : null }, clientMode == HttpTransportMode.Sse ? "/sse" : "");

        Assert.DoesNotContain(await client.ListToolsAsync(), t => t.Name == "add");
        var denied = await Assert.ThrowsAnyAsync<Exception>(() => client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "much too long for the rule" }).AsTask());
        Assert.Contains("Echo is limited to 10 characters.", denied.Message, StringComparison.Ordinal);
    }
}

public sealed class ResourceAndPromptPolicyTests
{
    [Fact]
    public async Task ResourcesAndPrompts_AreHiddenFromTheirListsAndRefusedOnUse()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.Conformance);
        await s.Gateway.ApplyPolicyAsync("content", """
            version: 1
            default: allow
            resources:
              "test://static-binary": hide
              "test://template/*": deny
            prompts:
              test_simple_prompt: hide
              "test_prompt_with_*": deny
            """, "--server", s.Server);
        await using var client = await s.Gateway.ConnectAsync(s.Server, s.Token);

        var resources = await client.ListResourcesAsync();
        Assert.Contains(resources, r => r.Uri == "test://static-text");
        Assert.DoesNotContain(resources, r => r.Uri == "test://static-binary");
        var text = await client.ReadResourceAsync("test://static-text");
        Assert.NotEmpty(text.Contents);
        var hiddenRead = await Assert.ThrowsAsync<McpProtocolException>(() => client.ReadResourceAsync("test://static-binary").AsTask());
        Assert.Contains("Unknown resource", hiddenRead.Message, StringComparison.Ordinal);
        var deniedRead = await Assert.ThrowsAsync<McpProtocolException>(() => client.ReadResourceAsync("test://template/7/data").AsTask());
        Assert.Equal(-32004, (int)deniedRead.ErrorCode);

        var prompts = await client.ListPromptsAsync();
        Assert.DoesNotContain(prompts, p => p.Name == "test_simple_prompt");
        Assert.Contains(prompts, p => p.Name == "test_prompt_with_image");
        var deniedPrompt = await Assert.ThrowsAsync<McpProtocolException>(() =>
            client.GetPromptAsync("test_prompt_with_arguments", new Dictionary<string, object?> { ["arg1"] = "a", ["arg2"] = "b" }).AsTask());
        Assert.Equal(-32004, (int)deniedPrompt.ErrorCode);
    }
}
