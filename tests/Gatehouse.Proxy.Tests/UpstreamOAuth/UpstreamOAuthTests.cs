using System.Net;
using System.Text;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Storage.Vault;
using Microsoft.EntityFrameworkCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tests.UpstreamOAuth;

/// <summary>
/// Upstream OAuth end to end against npm oidc-provider and a real MCP upstream that validates the JWT's signature and
/// audience: connect once, call, expire, refresh (proactive and reactive), rotate, fail, disconnect.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed class UpstreamOAuthTests
{
    [Fact]
    public async Task Connect_once_then_calls_carry_a_token_for_the_upstream_audience_and_no_client_sees_it()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var (status, page) = await world.ConnectAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("now connected to", page, StringComparison.Ordinal);

        var connection = await world.ConnectionAsync();
        Assert.Equal("connected", connection.GetProperty("status").GetString());
        Assert.Equal(world.Provider.Issuer.GetLeftPart(UriPartial.Authority), connection.GetProperty("issuer").GetString());
        Assert.Equal("dcr", connection.GetProperty("clientSource").GetString());
        Assert.True(connection.GetProperty("hasRefreshToken").GetBoolean());

        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        await using var client = await world.Gateway.ConnectAsync(OAuthUpstreamFixture.Server, token);
        var me = await world.WhoAmIAsync(client);
        Assert.Equal("alice", me.GetProperty("sub").GetString());
        Assert.Equal(world.Upstream.McpUri.ToString(), me.GetProperty("aud").GetString());
        Assert.Equal(0, world.RejectedSinceConnect);
    }

    [Fact]
    public async Task An_expired_token_is_refreshed_before_use_and_the_rotated_refresh_token_is_kept()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1));
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        await using var client = await world.Gateway.ConnectAsync(OAuthUpstreamFixture.Server, token);
        var first = await world.WhoAmIAsync(client);

        for (var round = 1; round <= 2; round++)
        {
            world.Clock.Advance(TimeSpan.FromSeconds(4.2));
            var next = await world.WhoAmIAsync(client);
            Assert.NotEqual(first.GetProperty("jti").GetString(), next.GetProperty("jti").GetString());
            Assert.Equal(round, await world.Provider.StatAsync("refreshGrants"));
        }

        // Two rotations in a row worked, so each new refresh token was stored and used; none was replayed.
        Assert.Equal(0, await world.Provider.StatAsync("failedRefreshes"));
        Assert.Equal(0, world.RejectedSinceConnect);
        var connection = await world.ConnectionAsync();
        Assert.Equal("connected", connection.GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKindNull, connection.GetProperty("lastRefreshAt").ValueKind);

        // Refreshes are counted for operators (Prometheus at /metrics), by server and outcome.
        var metrics = await world.Gateway.Http.GetStringAsync("metrics");
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("gatehouse_upstream_token_refreshes", StringComparison.Ordinal)
            && line.Contains("outcome=\"success\"", StringComparison.Ordinal) && line.Contains("server=\"protected\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_upstream_401_is_answered_by_one_refresh_and_one_retry_invisible_to_the_client()
    {
        // Tokens live well past the refresh margin, so no proactive refresh happens: only a 401 can cause one.
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 600);
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        using (var first = await world.RawWhoAmIAsync(token))
        {
            Assert.True((await GatewayHarness.ReadJsonRpcAsync(first)).TryGetProperty("result", out _));
        }

        // The upstream revokes the token Gatehouse holds, which by Gatehouse's clock is still valid: only the upstream's
        // 401 can trigger the refresh under test.
        world.Upstream.AuthStats.RevokeAcceptedTokens();

        using var response = await world.RawWhoAmIAsync(token);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.True(body.TryGetProperty("result", out _), body.ToString());
        Assert.Equal(1, world.RejectedSinceConnect);
        Assert.Equal(2, world.Upstream.AuthStats.DistinctTokenIds);
        Assert.Equal(1, await world.Provider.StatAsync("refreshGrants"));
    }

    [Fact]
    public async Task Two_hundred_concurrent_calls_on_an_expired_token_cause_exactly_one_refresh()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1));
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        world.Clock.Advance(TimeSpan.FromSeconds(4.2));
        await world.Provider.StatsAsync();
        var before = await world.Provider.StatAsync("tokenRequests");

        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await world.RawWhoAmIAsync(token, id: i + 10);
            return await GatewayHarness.ReadJsonRpcAsync(response);
        });
        var results = await Task.WhenAll(calls);

        Assert.All(results, r => Assert.True(r.TryGetProperty("result", out _), r.ToString()));
        // One refresh, and no replay of the old refresh token (oidc-provider would kill the whole grant on reuse).
        Assert.Equal(1, await world.Provider.StatAsync("refreshGrants"));
        Assert.Equal(0, await world.Provider.StatAsync("failedRefreshes"));
        Assert.Equal(before + 1, await world.Provider.StatAsync("tokenRequests"));
        Assert.Equal(0, world.RejectedSinceConnect);
    }

    [Fact]
    public async Task A_refused_refresh_token_marks_the_connection_needs_reauth_with_an_absolute_connect_url_and_no_loop()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1));
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        await world.Provider.RevokeAllAsync();
        world.Clock.Advance(TimeSpan.FromSeconds(4.2));

        using var response = await world.RawWhoAmIAsync(token);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1702", GatewayHarness.ErrorCode(body));
        var message = body.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("'protected'", message, StringComparison.Ordinal);
        var connectUrl = body.GetProperty("error").GetProperty("data").GetProperty("connectUrl").GetString()!;
        Assert.True(Uri.TryCreate(connectUrl, UriKind.Absolute, out var absolute) && absolute.Scheme == "http", connectUrl);
        Assert.StartsWith(world.Gateway.BaseUri.GetLeftPart(UriPartial.Authority), connectUrl, StringComparison.Ordinal);
        Assert.Equal("needs_reauth", (await world.ConnectionAsync()).GetProperty("status").GetString());

        var requests = await world.Provider.StatAsync("tokenRequests");
        for (var i = 0; i < 5; i++)
        {
            using var again = await world.RawWhoAmIAsync(token);
            Assert.Equal("GH1702", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(again)));
        }

        Assert.Equal(requests, await world.Provider.StatAsync("tokenRequests"));

        // Connecting again repairs it.
        var (status, _) = await world.ConnectAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        using var repaired = await world.RawWhoAmIAsync(token);
        Assert.True((await GatewayHarness.ReadJsonRpcAsync(repaired)).TryGetProperty("result", out _));
    }

    [Fact]
    public async Task An_unavailable_authorization_server_gets_bounded_retries_then_a_clear_error_and_the_connection_survives()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1));
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        world.Clock.Advance(TimeSpan.FromSeconds(4.2));
        var before = await world.Provider.StatAsync("tokenRequests");
        await world.Provider.FailTokenEndpointAsync(3, 503);

        using var response = await world.RawWhoAmIAsync(token);
        var body = await GatewayHarness.ReadJsonRpcAsync(response);
        Assert.Equal("GH1703", GatewayHarness.ErrorCode(body));
        Assert.Contains("unavailable", body.GetProperty("error").GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.Equal(before + 3, await world.Provider.StatAsync("tokenRequests"));
        Assert.Equal("connected", (await world.ConnectionAsync()).GetProperty("status").GetString());

        // The server is back: the stored refresh token still works.
        using var later = await world.RawWhoAmIAsync(token);
        Assert.True((await GatewayHarness.ReadJsonRpcAsync(later)).TryGetProperty("result", out _));
    }

    [Fact]
    public async Task Disconnect_revokes_at_the_provider_deletes_the_tokens_and_later_calls_say_revoked()
    {
        // Tokens live well past the refresh margin, so no proactive refresh happens: only a 401 can cause one.
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 600);
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        using (var first = await world.RawWhoAmIAsync(token))
        {
            Assert.True((await GatewayHarness.ReadJsonRpcAsync(first)).TryGetProperty("result", out _));
        }

        var (code, output, error) = await world.Gateway.CliAsync("server", "disconnect", OAuthUpstreamFixture.Server);
        Assert.True(code == 0, error);
        Assert.Contains("refresh_token", output, StringComparison.Ordinal);
        Assert.True(await world.Provider.StatAsync("revocations") >= 1);

        var connection = await world.ConnectionAsync();
        Assert.Equal("revoked", connection.GetProperty("status").GetString());
        Assert.False(connection.GetProperty("hasRefreshToken").GetBoolean());

        using var after = await world.RawWhoAmIAsync(token);
        Assert.Equal("GH1706", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(after)));
        await using var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext();
        var row = await db.UpstreamConnections.SingleAsync();
        Assert.Null(row.AccessTokenSealed);
        Assert.Null(row.RefreshTokenSealed);
    }

    [Fact]
    public async Task No_upstream_token_string_appears_in_the_database_file_or_the_logs()
    {
        var logs = new CapturingLoggerProvider();
        await using var world = await OAuthUpstreamFixture.StartAsync(
            accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1),
            logging: l => l.AddProvider(logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace));
        await world.ConnectAsync();
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        world.Clock.Advance(TimeSpan.FromSeconds(4.2));
        using (var response = await world.RawWhoAmIAsync(token))
        {
            Assert.True((await GatewayHarness.ReadJsonRpcAsync(response)).TryGetProperty("result", out _));
        }

        // Open the vault as the gateway does, read the sealed tokens, and look for their plaintext everywhere.
        var storage = new GatehouseStorage(world.Gateway.DataDirectory);
        var secrets = new List<string>();
        await using (var db = storage.CreateContext())
        {
            var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(storage.DataDirectory, null), TimeProvider.System);
            var row = await db.UpstreamConnections.AsNoTracking().SingleAsync();
            secrets.Add(vault.Unprotect(row.AccessTokenSealed!));
            secrets.Add(vault.Unprotect(row.RefreshTokenSealed!));
            foreach (var client in await db.OAuthClients.AsNoTracking().ToListAsync())
            {
                if (client.ClientSecretSealed is { } sealedSecret)
                {
                    secrets.Add(vault.Unprotect(sealedSecret));
                }
            }
        }

        Assert.True(secrets.Count >= 2);
        await world.Gateway.StopAsync();
        var files = Directory.GetFiles(storage.DataDirectory).Where(f => Path.GetFileName(f).StartsWith(GatehouseStorage.DatabaseFileName, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var secret in secrets)
            {
                Assert.True(IndexOf(bytes, Encoding.UTF8.GetBytes(secret)) < 0, $"a token or client secret appears in clear in {Path.GetFileName(file)}");
            }
        }

        var logText = string.Join('\n', logs.Lines);
        Assert.Contains("Refreshed the upstream token", logText, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_admin_connect_page_refuses_cross_site_posts_and_wrong_admin_tokens()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var path = $"oauth/connect/server/{OAuthUpstreamFixture.Server}";
        using var page = await world.Gateway.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        var csrf = System.Text.RegularExpressions.Regex.Match(html, "name=\"csrf\" value=\"([0-9a-f]+)\"").Groups[1].Value;
        Assert.NotEmpty(csrf);

        // No cookie (as from another site): refused even with the right form field.
        using var crossSite = await world.Gateway.Http.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = csrf, ["admin_token"] = "gta_x" }));
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);

        using var wrongToken = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = csrf, ["admin_token"] = "gta_not_the_token" }),
        };
        wrongToken.Headers.Add("Cookie", $"gh_connect_csrf={csrf}");
        using var refused = await world.Gateway.Http.SendAsync(wrongToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("not the admin token", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_used_or_unknown_state_is_refused_at_the_callback()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        using var unknown = await world.Gateway.Http.GetAsync("oauth/callback?code=abc&state=never-issued");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("unknown state", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Capture the real callback URL, complete it once, then replay it.
        var (code, output, error) = await world.Gateway.CliAsync("server", "connect", OAuthUpstreamFixture.Server, "--json");
        Assert.True(code == 0, error);
        var connectUrl = System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("connectUrl").GetString()!;
        var cookies = new System.Net.CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies });
        var next = new Uri(connectUrl);
        while (!next.AbsolutePath.EndsWith("/oauth/callback", StringComparison.Ordinal))
        {
            using var hop = await browser.GetAsync(next);
            Assert.True((int)hop.StatusCode is >= 300 and < 400, $"{hop.StatusCode} at {next}");
            next = new Uri(next, hop.Headers.Location!);
        }

        using (var completed = await browser.GetAsync(next))
        {
            Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        }

        using var replay = await browser.GetAsync(next);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains("already used", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_authorization_server_that_forgot_the_registration_causes_needs_reauth_and_one_new_registration()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync(accessTokenTtlSeconds: 4, upstreamAuth: o => o.RefreshMargin = TimeSpan.FromSeconds(1));
        await world.ConnectAsync();
        Assert.Equal(1, await world.Provider.StatAsync("registrations"));
        var token = await world.Gateway.CreateGrantAsync("agent", OAuthUpstreamFixture.Server);
        await world.Provider.ForgetClientsAsync();
        world.Clock.Advance(TimeSpan.FromSeconds(4.2));

        using var refused = await world.RawWhoAmIAsync(token);
        Assert.Equal("GH1702", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(refused)));
        var connection = await world.ConnectionAsync();
        Assert.Equal("needs_reauth", connection.GetProperty("status").GetString());
        Assert.Contains("invalid_client", connection.GetProperty("lastError").GetString()!, StringComparison.Ordinal);

        var (status, _) = await world.ConnectAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, await world.Provider.StatAsync("registrations"));
        using var repaired = await world.RawWhoAmIAsync(token);
        Assert.True((await GatewayHarness.ReadJsonRpcAsync(repaired)).TryGetProperty("result", out _));
    }

    [Fact]
    public async Task The_admin_api_starts_a_connection_and_disconnects_it()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var (_, tokenJson, _) = await world.Gateway.CliAsync("admin", "reset-token", "--json");
        var adminToken = System.Text.Json.JsonDocument.Parse(tokenJson).RootElement.GetProperty("token").GetString()!;
        world.Gateway.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);

        using var started = await world.Gateway.Http.PostAsync($"admin/api/servers/{OAuthUpstreamFixture.Server}/connect", null);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var connectUrl = System.Text.Json.JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("connectUrl").GetString()!;
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true });
        using (var page = await browser.GetAsync(new Uri(connectUrl)))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        using var servers = await world.Gateway.Http.GetAsync("admin/api/servers");
        Assert.Contains("\"connected\"", await servers.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var disconnected = await world.Gateway.Http.PostAsync($"admin/api/servers/{OAuthUpstreamFixture.Server}/disconnect", null);
        Assert.Equal(HttpStatusCode.OK, disconnected.StatusCode);
        Assert.Equal("revoked", (await world.ConnectionAsync()).GetProperty("status").GetString());

        using var unknown = await world.Gateway.Http.PostAsync("admin/api/servers/nope/connect", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Connect_with_wait_reports_the_outcome_once_the_link_was_used()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        var output = new LineSignalingWriter("connectUrl");
        var error = new StringWriter();
        var command = Gatehouse.Host.Program.Run(["--data", world.Gateway.DataDirectory, "server", "connect", OAuthUpstreamFixture.Server, "--json", "--wait"], output, error);
        var json = await output.Signaled.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(command.IsCompleted);

        var connectUrl = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("connectUrl").GetString()!;
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true });
        using (var page = await browser.GetAsync(new Uri(connectUrl)))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        Assert.Equal(0, await command.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Connected 'protected'", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A writer that completes <see cref="Signaled"/> with the first line containing a marker.</summary>
    private sealed class LineSignalingWriter(string marker) : StringWriter
    {
        private readonly TaskCompletionSource<string> _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> Signaled => _signal.Task;

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
            {
                _signal.TrySetResult(value);
            }
        }
    }

    [Fact]
    public async Task A_pending_authorization_survives_a_gateway_restart()
    {
        var provider = await OidcProvider.StartAsync();
        await using var _ = provider;
        await using var upstream = await Gatehouse.Testing.TestUpstream.StartAsync(
            Gatehouse.Testing.UpstreamMode.OAuthProtected, new Gatehouse.Testing.TestUpstreamOptions { OAuth = new Gatehouse.Testing.UpstreamOAuthOptions { Issuer = provider.Issuer } });
        var data = Directory.CreateTempSubdirectory("gatehouse-restart-").FullName;
        string connectUrl;
        string port;
        await using (var first = await GatewayHarness.StartAsync(dataDirectory: data, keepData: true))
        {
            port = first.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(0, (await first.CliAsync("server", "add", "protected", "--url", upstream.McpUri.ToString(), "--auth", "oauth", "--allow-loopback-auth")).ExitCode);
            var (code, output, error) = await first.CliAsync("server", "connect", "protected", "--json");
            Assert.True(code == 0, error);
            connectUrl = System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("connectUrl").GetString()!;
        }

        // A new process on the same database (and address) completes the flow the first one started.
        await using var second = await GatewayHarness.StartAsync(dataDirectory: data, urls: $"http://127.0.0.1:{port}");
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseCookies = true });
        using var page = await browser.GetAsync(new Uri(connectUrl));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var (_, show, _) = await second.CliAsync("server", "show", "protected", "--json");
        Assert.Equal("connected", System.Text.Json.JsonDocument.Parse(show).RootElement.GetProperty("connection").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Discovery_refuses_metadata_on_a_link_local_address_with_a_clear_error()
    {
        // A real upstream whose challenge points its metadata at the cloud metadata address.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.Run(context =>
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Bearer resource_metadata=\"http://169.254.169.254/latest/meta-data/\"";
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var url = Gatehouse.Host.Hosting.GatehouseApplication.ListeningAddresses(app).Single() + "/mcp";

        await using var gateway = await GatewayHarness.StartAsync();
        Assert.Equal(0, (await gateway.CliAsync("server", "add", "trap", "--url", url, "--auth", "oauth", "--allow-loopback-auth")).ExitCode);
        var (code, _, error) = await gateway.CliAsync("server", "connect", "trap");
        Assert.Equal(1, code);
        Assert.Contains("169.254.169.254", error, StringComparison.Ordinal);
        Assert.Contains("link-local", error, StringComparison.OrdinalIgnoreCase);
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNull = System.Text.Json.JsonValueKind.Null;

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}

/// <summary>OAuth scenarios start node processes and wait on real token lifetimes; running them one at a time keeps timing honest.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OAuthCollection
{
    public const string Name = "upstream-oauth";
}
