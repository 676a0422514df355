using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using Gatehouse.Proxy.Bridging;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.Pipeline;

/// <summary>Issue 10 item 7: a bridged session's queues are bounded, and what does not fit is never lost silently.</summary>
public sealed class BridgeBoundTests
{
    [Fact]
    public async Task BridgedClientThatStopsReading_LosesItsSession_InsteadOfQueueingWithoutBound()
    {
        var session = new LegacyClientSession("s", server: null!, "grant:x", TimeProvider.System);
        for (var i = 0; i < BridgeLimits.MessageQueueCapacity; i++)
        {
            session.Send("{}");
        }

        Assert.False(session.Completion.IsCompleted);
        session.Send("{} one too many");
        await session.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(session.Overflowed);
        Assert.True(session.Lifetime.IsCancellationRequested);
    }

    [Fact]
    public async Task LegacyMessagePosts_OverTheInFlightLimitOfASession_Get429()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, proxyOptions: o => o.MaxBridgedMessagesInFlight = 2);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(s.Gateway.BaseUri, $"mcp/{s.Server}/sse"));
        get.Headers.Authorization = new("Bearer", s.Token);
        get.Headers.Accept.ParseAdd("text/event-stream");
        using var stream = await s.Gateway.Http.SendAsync(get, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var body = await stream.Content.ReadAsStreamAsync(timeout.Token);
        await using var events = SseParser.Create(body).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("endpoint", events.Current.EventType);
        var endpoint = events.Current.Data;

        using (var init = await PostAsync(s.Gateway, endpoint, s.Token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Accepted, init.StatusCode);
        }

        Assert.True(await events.MoveNextAsync());
        Assert.Contains("protocolVersion", events.Current.Data, StringComparison.Ordinal);
        using (var initialized = await PostAsync(s.Gateway, endpoint, s.Token, """{"jsonrpc":"2.0","method":"notifications/initialized"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, initialized.StatusCode);
        }

        // The initialized notification may still be on its way upstream (it counts while in flight), so the cap is met
        // after one or two slow calls; without a cap every post would be accepted.
        const int limit = 2;
        var accepted = 0;
        HttpResponseMessage? refused = null;
        for (var id = 2; id <= 2 + limit + 1 && refused is null; id++)
        {
            var slow = await PostAsync(s.Gateway, endpoint, s.Token,
                "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":60000}}}");
            if (slow.StatusCode == HttpStatusCode.Accepted)
            {
                accepted++;
                slow.Dispose();
            }
            else
            {
                refused = slow;
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.InRange(accepted, 1, limit);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("GH1803", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(GatewayHarness gateway, string endpoint, string token, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseUri, endpoint)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", token);
        return await gateway.Http.SendAsync(request);
    }
}
