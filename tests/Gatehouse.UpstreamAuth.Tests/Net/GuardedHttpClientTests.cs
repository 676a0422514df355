using System.Net;
using System.Net.Sockets;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.UpstreamAuth.Tests.Net;

public sealed class GuardedHttpClientTests
{
    [Fact]
    public async Task Send_LoopbackWhenAllowed_Succeeds()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/doc", () => "hello"));
        using var client = new GuardedHttpClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/doc")), OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Send_LoopbackWhenNotAllowed_IsRefusedBeforeConnecting()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/doc", () => "hello"));
        using var client = new GuardedHttpClient();

        var ex = await Assert.ThrowsAsync<OutboundUrlRefusedException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/doc")), OutboundUrlPolicy.PublicOnly, default));

        Assert.Equal(OutboundUrlRefusal.Loopback, ex.Reason);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Send_HostNameResolvingToNonPublicAddress_IsRefusedAtConnectTime()
    {
        // The machine's own name passes the URL check (https, not an address, not "localhost"); only the resolved
        // address reveals the target, which the connect callback checks.
        var host = Dns.GetHostName();
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host);
        }
        catch (SocketException)
        {
            return;
        }

        if (addresses.Length == 0 || addresses.All(a => OutboundTargetRules.Classify(a, allowLoopback: false) is null))
        {
            return; // This machine's name resolves to a public address: nothing to show here.
        }

        using var client = new GuardedHttpClient(TimeSpan.FromSeconds(5));
        var ex = await Assert.ThrowsAsync<OutboundUrlRefusedException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri($"https://{host}:1/x?token=abc")), OutboundUrlPolicy.PublicOnly, default));

        Assert.Contains($"its host {host} resolves to", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("token=abc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_RedirectToMetadataAddress_IsRefusedWithoutFollowing()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) =>
            app.MapGet("/start", () => Results.Redirect("http://169.254.169.254/latest/meta-data/iam")));
        using var client = new GuardedHttpClient();

        var ex = await Assert.ThrowsAsync<OutboundUrlRefusedException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/start")), OutboundUrlPolicy.WithLoopback, default));

        Assert.Equal(OutboundUrlRefusal.LinkLocal, ex.Reason);
        Assert.Equal("http://169.254.169.254/latest/meta-data/iam", ex.Url);
        Assert.Equal(["/start"], server.Paths);
    }

    [Fact]
    public async Task Send_RedirectsOnGet_AreFollowedAndCredentialsDroppedAcrossOrigins()
    {
        await using var other = await LoopbackServer.StartAsync((app, _) => app.MapGet("/final", () => "done"));
        await using var server = await LoopbackServer.StartAsync((app, _) =>
        {
            app.MapGet("/a", () => Results.Redirect("/b"));
            app.MapGet("/b", () => Results.Redirect(other.Origin.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/final", permanent: true, preserveMethod: true));
        });
        using var client = new GuardedHttpClient();
        var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/a"));
        request.Headers.Authorization = new("Bearer", "not-for-other-origins");

        using var response = await client.SendAsync(request, OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal("done", await response.Content.ReadAsStringAsync());
        Assert.Equal(["/a", "/b"], server.Paths);
        Assert.Equal("Bearer not-for-other-origins", server.Requests[1].Header("Authorization"));
        Assert.Null(Assert.Single(other.Requests).Header("Authorization"));
    }

    [Fact]
    public async Task Send_TooManyRedirects_Stops()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/loop/{n:int}", (int n) => Results.Redirect($"/loop/{n + 1}")));
        using var client = new GuardedHttpClient();

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/loop/0")), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("redirected more than 5 times", ex.Message, StringComparison.Ordinal);
        Assert.Equal(GuardedHttpClient.MaxRedirects + 1, server.Requests.Count);
    }

    [Fact]
    public async Task Send_Post_IsNeverRedirected()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) =>
        {
            app.MapPost("/token", () => Results.Redirect("/elsewhere", permanent: false, preserveMethod: true));
            app.MapPost("/elsewhere", () => "should not be reached");
        });
        using var client = new GuardedHttpClient();
        var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/token")) { Content = new FormUrlEncodedContent([new("a", "b")]) };

        using var response = await client.SendAsync(request, OutboundUrlPolicy.WithLoopback, default);

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(["/token"], server.Paths);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Send_ResponseOverTheLimit_IsRefusedWithAClearMessage(bool declareLength)
    {
        await using var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/big", async (HttpContext context) =>
        {
            var chunk = new byte[1000];
            if (declareLength)
            {
                context.Response.ContentLength = 10 * chunk.Length;
            }

            for (var i = 0; i < 10; i++)
            {
                await context.Response.Body.WriteAsync(chunk);
                await context.Response.Body.FlushAsync();
            }
        }));
        using var client = new GuardedHttpClient(maxResponseBytes: 4096);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/big?x=1")), OutboundUrlPolicy.WithLoopback, default));

        Assert.Equal(HttpRequestError.ConfigurationLimitExceeded, ex.HttpRequestError);
        Assert.Contains($"{server.Origin}/big answered with more than 4,096 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_SlowServer_TimesOut()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) =>
            // Never answers: only the client's own timeout ends the request.
            app.MapGet("/slow", async (HttpContext context) => await new TaskCompletionSource().Task.WaitAsync(context.RequestAborted)));
        using var client = new GuardedHttpClient(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAsync<TimeoutException>(() =>
            client.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.Url("/slow")), OutboundUrlPolicy.WithLoopback, default));

        Assert.Contains("did not answer within 0.2 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetJson_NotFound_IsNull()
    {
        await using var server = await LoopbackServer.StartAsync((_, _) => { });
        using var client = new GuardedHttpClient();

        var document = await client.GetJsonAsync(server.Url("/missing"), OutboundUrlPolicy.WithLoopback, TestJson.Default.DictionaryStringString, default);

        Assert.Null(document);
    }

    [Fact]
    public async Task GetJson_Document_IsDeserialized()
    {
        await using var server = await LoopbackServer.StartAsync((app, _) =>
            app.MapGet("/doc", (HttpContext context) => LoopbackServer.Json(context, """{"a":"b"}""")));
        using var client = new GuardedHttpClient();

        var document = await client.GetJsonAsync(server.Url("/doc"), OutboundUrlPolicy.WithLoopback, TestJson.Default.DictionaryStringString, default);

        Assert.Equal("b", document!["a"]);
        Assert.Equal("application/json", server.Requests[0].Header("Accept"));
    }
}
