using System.Net;
using System.Text.Json;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Testing;
using Gatehouse.UpstreamAuth.Connections;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.UpstreamOAuth;

/// <summary>
/// One scenario's world: oidc-provider (an authorization server nobody here wrote), a real MCP upstream that checks
/// the JWT's signature and audience, and a Gatehouse with the upstream registered as an OAuth server.
/// </summary>
internal sealed class OAuthUpstreamFixture : IAsyncDisposable
{
    public const string Server = "protected";

    private OAuthUpstreamFixture(OidcProvider provider, TestUpstream upstream, GatewayHarness gateway, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock)
    {
        Clock = clock;
        Provider = provider;
        Upstream = upstream;
        Gateway = gateway;
    }

    /// <summary>
    /// The gateway's upstream-OAuth clock: advancing it makes stored tokens expire for Gatehouse without waiting (the
    /// authorization server and the upstream keep the real clock, so the tokens themselves stay valid there).
    /// </summary>
    public Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock { get; }

    public OidcProvider Provider { get; }

    public TestUpstream Upstream { get; }

    public GatewayHarness Gateway { get; }

    public static async Task<OAuthUpstreamFixture> StartAsync(
        int accessTokenTtlSeconds = 60, Action<UpstreamAuthOptions>? upstreamAuth = null, Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null,
        bool perUser = false)
    {
        var provider = await OidcProvider.StartAsync(accessTokenTtlSeconds);
        var upstream = await TestUpstream.StartAsync(UpstreamMode.OAuthProtected, new TestUpstreamOptions { OAuth = new UpstreamOAuthOptions { Issuer = provider.Issuer } });
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = await GatewayHarness.StartAsync(logging: logging, upstreamAuthTime: clock, upstreamAuth: o =>
        {
            // No back-off between token attempts: a delay on the fake clock would only end when a test advanced it.
            o.TokenRequestBackoff = TimeSpan.Zero;
            upstreamAuth?.Invoke(o);
        });
        var fixture = new OAuthUpstreamFixture(provider, upstream, gateway, clock);
        string[] add = ["server", "add", Server, "--url", upstream.McpUri.ToString(), "--auth", "oauth", "--allow-loopback-auth"];
        var (code, _, error) = await gateway.CliAsync(perUser ? [.. add, "--per-user"] : add);
        Assert.True(code == 0, error);
        return fixture;
    }

    /// <summary>Upstream 401s since the last connect (discovery's unauthenticated probe is one, by design).</summary>
    public int RejectedSinceConnect => Upstream.AuthStats.RejectedTokens - _rejectedAtConnect;

    private int _rejectedAtConnect;

    /// <summary>Runs <c>server connect</c> and follows the printed link as a browser would (cookies, redirects); returns the final page.</summary>
    public async Task<(HttpStatusCode Status, string Page)> ConnectAsync()
    {
        try
        {
            return await FollowConnectLinkAsync();
        }
        finally
        {
            _rejectedAtConnect = Upstream.AuthStats.RejectedTokens;
        }
    }

    private async Task<(HttpStatusCode Status, string Page)> FollowConnectLinkAsync()
    {
        var (code, output, error) = await Gateway.CliAsync("server", "connect", Server, "--json");
        Assert.True(code == 0, error);
        var connectUrl = JsonDocument.Parse(output).RootElement.GetProperty("connectUrl").GetString()!;
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true, MaxAutomaticRedirections = 20 });
        using var response = await browser.GetAsync(new Uri(connectUrl));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The connection as <c>server show --json</c> reports it.</summary>
    public async Task<JsonElement> ConnectionAsync()
    {
        var (code, output, error) = await Gateway.CliAsync("server", "show", Server, "--json");
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.GetProperty("connection").Clone();
    }

    /// <summary>Calls the upstream's <c>whoami</c> through Gatehouse and returns the token facts it saw.</summary>
    public async Task<JsonElement> WhoAmIAsync(McpClient client)
    {
        var result = await client.CallToolAsync("whoami");
        Assert.True(result.IsError is not true, string.Join(" ", result.Content.OfType<TextContentBlock>().Select(t => t.Text)));
        return JsonDocument.Parse(result.Content.OfType<TextContentBlock>().Single().Text).RootElement.Clone();
    }

    /// <summary>A raw <c>tools/call whoami</c> through Gatehouse (no session needed: the upstream is stateless).</summary>
    public Task<HttpResponseMessage> RawWhoAmIAsync(string token, int id = 2) =>
        Gateway.PostAsync(Server, token, """{"jsonrpc":"2.0","id":""" + id + ""","method":"tools/call","params":{"name":"whoami","arguments":{}}}""");

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        await Provider.DisposeAsync();
    }
}
