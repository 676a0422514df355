using Microsoft.Extensions.Logging;
using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>One real gateway with a real upstream in each transport era, a grant and the admin token: what hostile input is sent at.</summary>
public sealed class BadInputWorld : IAsyncLifetime
{
    private TestUpstream? _streamable;
    private TestUpstream? _legacy;
    private TestUpstream? _stateless;

    public GatewayHarness Gateway { get; private set; } = null!;

    /// <summary>A grant for every server.</summary>
    public string Token { get; private set; } = null!;

    public string AdminToken { get; private set; } = null!;

    /// <summary>The upstream header value configured for <c>echo</c>: a secret that must never come back.</summary>
    public const string UpstreamSecret = "upstream-secret-3f9a2c";

    public async Task InitializeAsync()
    {
        _streamable = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        _legacy = await TestUpstream.StartAsync(UpstreamMode.LegacySse);
        _stateless = await TestUpstream.StartAsync(UpstreamMode.Stateless);
        Gateway = await GatewayHarness.StartAsync(logging: l => l.AddFilter((string? _, LogLevel level) => level >= LogLevel.Warning));
        AdminToken = (await AdminCredentials.EnsureAsync(new GatehouseStorage(Gateway.DataDirectory), TimeProvider.System))!;
        await Gateway.AddServerAsync("echo", _streamable.McpUri, "streamable-http", $"X-Upstream-Key: {UpstreamSecret}");
        await Gateway.AddServerAsync("legacy", _legacy.SseUri, "sse");
        await Gateway.AddServerAsync("stateless", _stateless.McpUri, "streamable-http");
        Token = await Gateway.CreateGrantAsync("fuzz", "echo", "legacy", "stateless");
        // A policy that reads arguments, so hostile arguments reach the policy evaluator too.
        await Gateway.ApplyPolicyAsync("fz-args", """
            version: 1
            default: allow
            tools:
              add:
                deny_if:
                  - { arg: a, gt: 1000 }
              echo:
                deny_if:
                  - { arg: text, matches: "^forbidden", timeout_ms: 50 }
                  - { arg: text, max_length: 2000 }
            """, "--grant", "fuzz");
    }

    private string? _clientId;

    /// <summary>A registered public client whose redirect URI is http://127.0.0.1/cb.</summary>
    public async Task<string> ClientIdAsync()
    {
        if (_clientId is null)
        {
            using var response = await Gateway.Http.PostAsync("oauth2/register", new StringContent(
                """{"client_name":"fuzz","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            _clientId = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("client_id").GetString()!;
        }

        return _clientId;
    }

    public string MasterKey => File.ReadAllText(Path.Combine(Gateway.DataDirectory, "master.key")).Trim();

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await _streamable!.DisposeAsync();
        await _legacy!.DisposeAsync();
        await _stateless!.DisposeAsync();
    }
}
