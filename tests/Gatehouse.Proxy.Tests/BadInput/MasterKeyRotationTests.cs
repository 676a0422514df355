using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>A gateway still running with the master key that <c>keys rotate --new-master-key</c> replaced.</summary>
public sealed class MasterKeyRotationTests
{
    [Fact]
    public async Task After_the_master_key_changes_under_a_running_gateway_oauth_calls_get_a_clear_503_naming_the_restart()
    {
        await using var upstream = await Gatehouse.Testing.TestUpstream.StartAsync(Gatehouse.Testing.UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        var adminToken = await AdminCredentials.EnsureAsync(new GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        await gateway.AddServerAsync("echo", upstream.McpUri, "streamable-http", "X-Upstream-Key: sealed-value-1");
        var grant = await gateway.CreateGrantAsync("laptop", "echo");
        var (code, _, error) = await gateway.CliAsync("keys", "rotate", "--new-master-key");
        Assert.True(code == 0, error);

        // The server's header was re-sealed under a data key only the new master key opens.
        using (var call = await gateway.PostAsync("echo", grant, GatewayHarness.InitializeBody))
        {
            var body = await call.Content.ReadAsStringAsync();
            Assert.True((int)call.StatusCode == 503, $"proxy: {(int)call.StatusCode} {body}");
            Assert.Equal("GH1951", GatewayHarness.ErrorCode(System.Text.Json.JsonDocument.Parse(body).RootElement));
            Assert.DoesNotContain("sealed-value-1", body, StringComparison.Ordinal);
        }

        foreach (var path in new[] { "oauth2/login", "account" })
        {
            using var response = await gateway.Http.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500 || (int)response.StatusCode == 503, $"{path}: {(int)response.StatusCode} {body}");
            if ((int)response.StatusCode == 503)
            {
                Assert.Contains("GH1951", body, StringComparison.Ordinal);
                Assert.Contains("Restart the gateway", body, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }

        using var registration = await gateway.Http.PostAsync("oauth2/register", new StringContent(
            """{"client_name":"c","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"client_secret_post"}""", System.Text.Encoding.UTF8, "application/json"));
        var registrationBody = await registration.Content.ReadAsStringAsync();
        Assert.True((int)registration.StatusCode < 500 || (int)registration.StatusCode == 503, $"register: {(int)registration.StatusCode} {registrationBody}");
        Assert.DoesNotContain("   at ", registrationBody, StringComparison.Ordinal);

        // Anything that seals a new secret needs the active data key, which only the new master key opens.
        foreach (var (path, json) in new[]
        {
            ("admin/api/servers", """{"name":"sealed","url":"http://127.0.0.1:1/mcp","headers":{"X-Key":"v"}}"""),
            ("admin/api/login-provider", """{"issuer":"http://127.0.0.1:1","clientId":"c","clientSecret":"s","allowLoopback":true}"""),
        })
        {
            using var request = new HttpRequestMessage(path.EndsWith("servers", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Put, path)
            {
                Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await gateway.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == 503, $"{path}: {(int)response.StatusCode} {body}");
            Assert.Contains("GH1951", body, StringComparison.Ordinal);
            Assert.Contains("Restart the gateway with the new master key", body, StringComparison.Ordinal);
        }
    }
}
