using System.Net;
using System.Text;
using Gatehouse.Proxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>
/// Under a policy the gateway reads each SSE event of a POST's answer stream (to filter lists); it must still pass the
/// upstream's keep-alive comments on, keep ordinary events as they were, and stop an event that never ends at the cap.
/// </summary>
/// <remarks>
/// Runs alone: the endless-event tests watch for the gateway hanging up on the upstream, which on a machine loaded by the
/// other test classes can come later than the tests' bounded waits.
/// </remarks>
[Collection(nameof(FilteredSseRelayTests))]
public sealed class FilteredSseRelayTests
{
    private const string Policy = """
        version: 1
        default: allow
        tools:
          add: deny
        """;

    private const string ToolCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}""";

    private static async Task<(GatewayHarness Gateway, string Token)> GatewayForAsync(ScriptedUpstream upstream, long maxResponseBytes = 32 * 1024 * 1024, string transport = "streamable-http")
    {
        var gateway = await GatewayHarness.StartAsync(o => o.MaxResponseBytes = maxResponseBytes);
        await gateway.AddServerAsync("sse", upstream.Uri, transport);
        var token = await gateway.CreateGrantAsync("laptop", "sse");
        await gateway.ApplyPolicyAsync("p", Policy, "--server", "sse");
        return (gateway, token);
    }

    private static async Task WriteAsync(HttpContext context, string text)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    [Fact]
    public async Task KeepAliveComment_FromTheUpstream_ReachesTheClient_WhileTheAnswerIsStillPending()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await WriteAsync(context, ": keep-alive\n\n");
            await release.Task.WaitAsync(context.RequestAborted);
            await WriteAsync(context, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n");
        });
        var (gateway, token) = await GatewayForAsync(upstream);
        await using var _ = gateway;

        using var response = await gateway.PostAsync("sse", token, ToolCall);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        // The answer is held back until the comment arrived, so only a relayed comment can end this wait.
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(": keep-alive", first);
        release.TrySetResult();
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("\"id\":1,\"result\"", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrdinaryToolAnswer_IsRelayedByteForByte_EventIdTypeAndData()
    {
        const string Stream =
            "id: ev-1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n" +
            "id: ev-2\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hi \\u00e9\"}]}}\n\n";
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await WriteAsync(context, Stream);
        });
        var (gateway, token) = await GatewayForAsync(upstream);
        await using var _ = gateway;

        using var response = await gateway.PostAsync("sse", token, ToolCall);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Stream, await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EndlessEvent_EndsTheStreamAtTheCap_AndTheClientGetsAnErrorForItsRequest(bool manyLines)
    {
        const int Cap = 64 * 1024;
        var cutOff = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            var chunk = Encoding.UTF8.GetBytes(manyLines ? new string('x', 1023) + "\n" : new string('x', 1024));
            try
            {
                await WriteAsync(context, manyLines ? "id: ev-1\n" : "id: ev-1\ndata: ");
                // 64 MiB at most, a thousand times the cap: an event that, for the gateway, never ends. Writes after the
                // gateway hung up may succeed silently, so the hang-up is read from RequestAborted.
                for (var i = 0; i < 64 * 1024 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    if (manyLines)
                    {
                        await context.Response.Body.WriteAsync("data: "u8.ToArray(), context.RequestAborted);
                    }

                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }

            cutOff.TrySetResult(context.RequestAborted.IsCancellationRequested);
        });
        var (gateway, token) = await GatewayForAsync(upstream, Cap);
        await using var _ = gateway;

        using var response = await gateway.PostAsync("sse", token, ToolCall);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var relayed = await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain("xxxx", relayed, StringComparison.Ordinal);
        Assert.Contains("\"id\":1", relayed, StringComparison.Ordinal);
        Assert.Contains("GH1341", relayed, StringComparison.Ordinal);
        // The gateway hung up on the upstream long before the upstream's script ran out.
        Assert.True(await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the upstream was never cut off");
    }

    private static async Task<HttpResponseMessage> OpenLegacyStreamAsync(GatewayHarness gateway, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseUri, "mcp/sse/sse"));
        request.Headers.Authorization = new("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    [Fact]
    public async Task LegacyStream_KeepAliveComment_FromTheUpstream_ReachesTheClient()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await WriteAsync(context, "event: endpoint\ndata: /message?s=1\n\n: keep-alive\n\n");
            await release.Task.WaitAsync(context.RequestAborted);
        });
        var (gateway, token) = await GatewayForAsync(upstream, transport: "sse");
        await using var _ = gateway;

        using var response = await OpenLegacyStreamAsync(gateway, token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        for (var i = 0; i < 10 && !lines.Contains(": keep-alive"); i++)
        {
            lines.Add(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("the stream ended"));
        }

        Assert.Contains(lines, l => l.StartsWith("data: ", StringComparison.Ordinal) && l.Contains("/message", StringComparison.Ordinal));
        Assert.Contains(": keep-alive", lines);
        release.TrySetResult();
    }

    [Fact]
    public async Task LegacyStream_EndlessEvent_EndsTheStreamAtTheCap()
    {
        const int Cap = 64 * 1024;
        var cutOff = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            var chunk = Encoding.UTF8.GetBytes("data: " + new string('x', 1017) + "\n");
            try
            {
                await WriteAsync(context, "event: endpoint\ndata: /message?s=1\n\nevent: message\n");
                for (var i = 0; i < 64 * 1024 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }

            cutOff.TrySetResult(context.RequestAborted.IsCancellationRequested);
        });
        var (gateway, token) = await GatewayForAsync(upstream, Cap, "sse");
        await using var _ = gateway;

        using var response = await OpenLegacyStreamAsync(gateway, token);
        var relayed = await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("event: endpoint", relayed, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", relayed, StringComparison.Ordinal);
        Assert.True(await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the upstream was never cut off");
    }

    [Fact]
    public async Task BridgedLegacyClient_EndlessEventFromAStreamableUpstream_EndsAtTheCap_WithAnErrorForTheRequest()
    {
        const int Cap = 64 * 1024;
        var cutOff = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }

            context.Response.ContentType = "text/event-stream";
            var chunk = Encoding.UTF8.GetBytes("data: " + new string('x', 1017) + "\n");
            try
            {
                await WriteAsync(context, "id: ev-1\n");
                for (var i = 0; i < 64 * 1024 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }

            cutOff.TrySetResult(context.RequestAborted.IsCancellationRequested);
        });
        var (gateway, token) = await GatewayForAsync(upstream, Cap);
        await using var _ = gateway;

        using var response = await OpenLegacyStreamAsync(gateway, token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? endpoint = null;
        for (var i = 0; i < 10 && endpoint is null; i++)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            if (line?.StartsWith("data: /", StringComparison.Ordinal) == true)
            {
                endpoint = line["data: ".Length..];
            }
        }

        Assert.NotNull(endpoint);
        using (var posted = await Pipeline.QuotaChargeTests.PostMessageAsync(gateway, endpoint, token, ToolCall))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        string? answer = null;
        for (var i = 0; i < 20 && answer is null; i++)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("the stream ended");
            Assert.DoesNotContain("xxxx", line, StringComparison.Ordinal);
            answer = line.Contains("\"id\":1", StringComparison.Ordinal) ? line : null;
        }

        Assert.NotNull(answer);
        Assert.Contains("GH1341", answer, StringComparison.Ordinal);
        Assert.True(await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the upstream was never cut off");
    }

    [Fact]
    public async Task BridgedLegacyUpstream_EndlessEventOnItsStream_EndsTheSession_AndThePendingRequestIsAnswered()
    {
        const int Cap = 64 * 1024;
        var cutOff = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var posted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await ScriptedUpstream.StartAsync(async context =>
        {
            if (HttpMethods.IsPost(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                posted.TrySetResult();
                return;
            }

            context.Response.ContentType = "text/event-stream";
            var chunk = Encoding.UTF8.GetBytes("data: " + new string('x', 1017) + "\n");
            try
            {
                await WriteAsync(context, "event: endpoint\ndata: /message?s=1\n\n");
                // The endless event starts only once the request is waiting for its answer on this stream.
                await posted.Task.WaitAsync(context.RequestAborted);
                await WriteAsync(context, "event: message\n");
                for (var i = 0; i < 64 * 1024 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }

            cutOff.TrySetResult(context.RequestAborted.IsCancellationRequested);
        });
        var (gateway, token) = await GatewayForAsync(upstream, Cap, "sse");
        await using var _ = gateway;

        using var response = await gateway.PostAsync("sse", token, GatewayHarness.InitializeBody);
        var answer = await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain("xxxx", answer, StringComparison.Ordinal);
        Assert.True(await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the upstream was never cut off");
        Assert.Contains("\"error\"", answer, StringComparison.Ordinal);
    }
}

/// <summary>Keeps <see cref="FilteredSseRelayTests"/> from running beside other test classes.</summary>
[CollectionDefinition(nameof(FilteredSseRelayTests), DisableParallelization = true)]
public sealed class FilteredSseRelayCollection;
