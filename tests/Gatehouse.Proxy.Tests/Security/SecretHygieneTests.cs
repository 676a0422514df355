using System.Net;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tests.Security;

public sealed class SecretHygieneTests
{
    [Fact]
    public async Task NoGrantTokenOrUpstreamSecret_AppearsInAnyLogLine_EvenAtTraceLevel()
    {
        const string upstreamSecret = "upstream-secret-9d8c7b";
        var logs = new CapturingLoggerProvider();
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful, new TestUpstreamOptions { RequiredHeader = ("X-Api-Key", upstreamSecret) });
        await using var gateway = await GatewayHarness.StartAsync(logging: l =>
        {
            l.SetMinimumLevel(LogLevel.Trace);
            l.AddFilter(_ => true);
            l.AddProvider(logs);
        });
        await gateway.AddServerAsync("keyed", upstream.McpUri, "streamable-http", $"X-Api-Key: {upstreamSecret}");
        await gateway.AddServerAsync("other", upstream.McpUri);
        var token = await gateway.CreateGrantAsync("laptop", "keyed");

        await using (var client = await gateway.ConnectAsync("keyed", token))
        {
            await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        }

        // Rejections log too: a wrong server, a revoked grant, an unreachable upstream.
        using (var wrongServer = await gateway.PostAsync("other", token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrongServer.StatusCode);
        }

        await gateway.CliAsync("grant", "revoke", "laptop");
        using (var revoked = await gateway.PostAsync("keyed", token, GatewayHarness.InitializeBody))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        }

        Assert.NotEmpty(logs.Lines);
        Assert.Contains(logs.Lines, l => l.Contains("GH1006", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains(token[4..20], StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains(upstreamSecret, StringComparison.Ordinal));
    }
}
