using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Proxy.Tests.UpstreamOAuth;

/// <summary>
/// Credentials never follow a server to a new address: repointing a connected OAuth server revokes its tokens at the
/// provider and deletes its connections and pending flows in one audited change, so the new address never sees them.
/// </summary>
[Collection(OAuthCollection.Name)]
public sealed class RepointTests
{
    private const string Server = OAuthUpstreamFixture.Server;

    [Fact]
    public async Task Repointing_a_connected_server_revokes_and_deletes_its_credentials_and_the_new_address_never_receives_the_old_token()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        await world.ConnectAsync();
        var grant = await world.Gateway.CreateGrantAsync("agent", Server);
        using (var call = await world.RawWhoAmIAsync(grant))
        {
            Assert.True((await GatewayHarness.ReadJsonRpcAsync(call)).TryGetProperty("result", out _));
        }

        var oldToken = world.Upstream.Requests.Select(r => r.GetHeader("Authorization")).Last(a => a is not null)!;
        Assert.StartsWith("Bearer ", oldToken, StringComparison.Ordinal);

        // A second connect left pending, so there is a flow to forget as well.
        var (pendingCode, _, pendingError) = await world.Gateway.CliAsync("server", "connect", Server, "--json");
        Assert.True(pendingCode == 0, pendingError);

        // The new address is a real upstream trusting the same authorization server: the old token would work there.
        await using var moved = await TestUpstream.StartAsync(
            UpstreamMode.OAuthProtected, new TestUpstreamOptions { OAuth = new UpstreamOAuthOptions { Issuer = world.Provider.Issuer } });
        var revocationsBefore = await world.Provider.StatAsync("revocations");
        var file = Path.Combine(world.Gateway.DataDirectory, "moved.yaml");
        await File.WriteAllTextAsync(file, $"""
            servers:
              - name: {Server}
                url: {moved.McpUri}
                oauth:
                  allow-loopback: true
            """);

        var (code, output, error) = await world.Gateway.CliAsync("apply", "-f", file);

        Assert.True(code == 0, error);
        Assert.True(await world.Provider.StatAsync("revocations") > revocationsBefore, "the old provider saw no revocation");
        await using (var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext())
        {
            var serverId = (await db.Servers.AsNoTracking().SingleAsync(s => s.Name == Server)).Id;
            Assert.Equal(moved.McpUri.ToString(), (await db.Servers.AsNoTracking().SingleAsync(s => s.Name == Server)).Url);
            Assert.Equal(0, await db.UpstreamConnections.CountAsync(c => c.ServerId == serverId));
            Assert.Equal(0, await db.OAuthPendingFlows.CountAsync(f => f.ServerId == serverId));
            var audit = Assert.Single(await db.AuditEvents.AsNoTracking().Where(a => a.Target == Server && a.Action == "server.update").ToListAsync());
            Assert.Contains("credentials reset", audit.Details, StringComparison.Ordinal);
            Assert.DoesNotContain(oldToken["Bearer ".Length..], audit.Details ?? "", StringComparison.Ordinal);
        }

        using var next = await world.RawWhoAmIAsync(grant);
        Assert.Equal("GH1701", GatewayHarness.ErrorCode(await GatewayHarness.ReadJsonRpcAsync(next)));
        Assert.DoesNotContain(moved.Requests, r => r.GetHeaderValues("Authorization").Contains(oldToken));
        Assert.DoesNotContain(moved.Requests, r => r.HasHeader("Authorization"));
        Assert.NotEqual("connected", (await world.ConnectionAsync()).GetProperty("status").GetString());
        Assert.Contains("updated", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_api_update_that_drops_oauth_also_drops_the_stored_connection()
    {
        await using var world = await OAuthUpstreamFixture.StartAsync();
        await world.ConnectAsync();
        var (_, tokenJson, _) = await world.Gateway.CliAsync("admin", "reset-token", "--json");
        var adminToken = JsonDocument.Parse(tokenJson).RootElement.GetProperty("token").GetString()!;
        world.Gateway.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        await using var moved = await TestUpstream.StartAsync(UpstreamMode.Stateless);

        using var updated = await world.Gateway.Http.PutAsJsonAsync($"admin/api/servers/{Server}", new { name = Server, url = moved.McpUri.ToString() });

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        await using var db = new GatehouseStorage(world.Gateway.DataDirectory).CreateContext();
        Assert.Equal(0, await db.UpstreamConnections.CountAsync());
        var grant = await world.Gateway.CreateGrantAsync("agent", Server);
        using var call = await world.RawWhoAmIAsync(grant);
        Assert.DoesNotContain(moved.Requests, r => r.HasHeader("Authorization"));
    }
}
