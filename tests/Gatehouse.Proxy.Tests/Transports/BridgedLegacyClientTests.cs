using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Transports;

/// <summary>2024-11-05 HTTP+SSE clients served from Streamable HTTP upstreams.</summary>
public sealed class BridgedLegacyClientTests
{
    [Theory]
    [InlineData("streamable-http")]
    [InlineData("auto")]
    public async Task LegacyClient_CallsToolsOnAStreamableUpstream(string transport)
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "modern", transport, new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", "k") }, headers: "X-Api-Key: k");

        await using (var client = await s.Gateway.ConnectAsync("modern", s.Token, HttpTransportMode.Sse, path: "/sse"))
        {
            Assert.Contains(await client.ListToolsAsync(), t => t.Name == "add");
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "old client" });
            Assert.Equal("old client", Assert.IsType<TextContentBlock>(result.Content.Single()).Text);
        }

        var posts = s.Upstream.Requests.Where(r => r.Method == "POST").ToList();
        Assert.NotEmpty(posts);
        Assert.All(s.Upstream.Requests, r => Assert.False(r.HasHeader("Authorization")));
        Assert.Single(posts.Select(r => r.GetHeader("Mcp-Session-Id")).Where(id => id is not null).Distinct());
    }

    [Fact]
    public async Task LegacyClient_GetsServerToClientRequestsAndNotificationsOnItsStream()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "modern");
        var options = new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                SamplingHandler = (_, _, _) => ValueTask.FromResult(new CreateMessageResult
                {
                    Model = "m", Role = Role.Assistant, Content = [new TextContentBlock { Text = "legacy sample" }],
                }),
            },
        };

        await using var client = await s.Gateway.ConnectAsync("modern", s.Token, HttpTransportMode.Sse, options, "/sse");
        var sampled = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hi" });
        Assert.Contains("legacy sample", Assert.IsType<TextContentBlock>(sampled.Content.Single()).Text, StringComparison.Ordinal);

        var (progress, done) = CallbackProgress.Counting(3);
        await client.CallToolAsync("progress", progress: progress);
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ClosingTheLegacyStream_EndsTheUpstreamSession()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "modern");

        await using (var client = await s.Gateway.ConnectAsync("modern", s.Token, HttpTransportMode.Sse, path: "/sse"))
        {
            await client.PingAsync();
        }

        var delete = await s.Upstream.WaitForRequestAsync(r => r.Method == "DELETE").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(delete.GetHeader("Mcp-Session-Id"));
    }

    [Fact]
    public async Task BridgedMessageEndpoint_WithAnotherGrantsSession_Is404()
    {
        await using var s = await ProxyScenario.StartAsync(UpstreamMode.StreamableStateful, "modern");
        var alice = s.Token; // the scenario's grant opens the session; bob is a second grant
        var bob = await s.Gateway.CreateGrantAsync("bob", "modern");

        using var open = new HttpRequestMessage(HttpMethod.Get, new Uri(s.Gateway.McpUri("modern") + "/sse"));
        open.Headers.Add("Authorization", $"Bearer {alice}");
        using var stream = await s.Gateway.Http.SendAsync(open, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.Equal("event: endpoint", await reader.ReadLineAsync());
        var endpoint = (await reader.ReadLineAsync())!["data: ".Length..];

        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(s.Gateway.BaseUri, endpoint))
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("Authorization", $"Bearer {bob}");
        using var response = await s.Gateway.Http.SendAsync(post);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
