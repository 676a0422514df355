using System.Net;
using System.Text.Json;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>Issue 10 item 7: withdrawing a consent or offboarding ends the person's open streams within a second.</summary>
public sealed class StreamRevocationTests
{
    private const string Server = "notes";

    [Fact]
    public async Task WithdrawnConsent_EndsTheClientsOpenStreamWithinASecond()
    {
        await using var world = await IdentityWorld.StartAsync(Server);
        var (_, tokens) = await world.Driver.SignInForAsync(Server);
        using var stream = await OpenStreamAsync(world, tokens.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var ended = ReadToEndAsync(stream);

        var (code, output, error) = await world.Gateway.CliAsync("--json", "consent", "list");
        Assert.True(code == 0, error);
        var consent = JsonDocument.Parse(output).RootElement.EnumerateArray().Single().GetProperty("id").GetString()!;
        (code, _, error) = await world.Gateway.CliAsync("consent", "revoke", consent);
        Assert.True(code == 0, error);
        await ended.WaitAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task OffboardedUser_TheirOpenStreamEndsWithinASecond()
    {
        await using var world = await IdentityWorld.StartAsync(Server);
        var (_, tokens) = await world.Driver.SignInForAsync(Server);
        using var stream = await OpenStreamAsync(world, tokens.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var ended = ReadToEndAsync(stream);

        var (code, _, error) = await world.Gateway.CliAsync("user", "offboard", "admin");
        Assert.True(code == 0, error);
        await ended.WaitAsync(TimeSpan.FromSeconds(1));
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(IdentityWorld world, string accessToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(world.Gateway.BaseUri, $"mcp/{Server}/sse"));
        request.Headers.Authorization = new("Bearer", accessToken);
        request.Headers.Accept.ParseAdd("text/event-stream");
        return await world.Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task ReadToEndAsync(HttpResponseMessage response)
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            while (await body.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
