using System.Text.Json.Nodes;
using Gatehouse.Admin.Administration;
using Gatehouse.Proxy.Tests.Identity;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;
using Microsoft.EntityFrameworkCore;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Proxy.Tests.Policy;

/// <summary>
/// Policies attached to groups and users, enforced on real calls to a real upstream: through grants their owners hold and
/// through Gatehouse's own OAuth access tokens.
/// </summary>
public sealed class UserAndGroupPolicyTests
{
    // Contractors may use echo and nothing else: every other tool falls to this policy's default.
    private const string ContractorsPolicy = """
        version: 1
        default: deny
        tools:
          echo: allow
        """;

    // A user-level default is more specific than a group's, so it takes over where no explicit rule speaks.
    private const string OpenPolicy = """
        version: 1
        default: allow
        """;

    [Fact]
    public async Task GroupPolicy_BindsTheGrantsOfItsMembers_AUserPolicyOverridesIt_AndAGroupChangeCountsOnTheNextRequest()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        await gateway.AddServerAsync("echo", upstream.McpUri);
        var storage = new GatehouseStorage(gateway.DataDirectory);
        var aliceId = await AddUserAsync(gateway, "alice");
        await AddUserAsync(gateway, "bob");
        await SetGroupsAsync(storage, aliceId, """["staff","contractors"]""");
        await gateway.ApplyPolicyAsync("contractors", ContractorsPolicy, "--group", "contractors");
        await using var alice = await gateway.ConnectAsync("echo", await CreateOwnedGrantAsync(gateway, "alice-laptop", "alice"));
        await using var bob = await gateway.ConnectAsync("echo", await CreateOwnedGrantAsync(gateway, "bob-laptop", "bob"));

        Assert.Equal("hi", await EchoAsync(alice));
        var refused = await Assert.ThrowsAsync<McpProtocolException>(() => AddAsync(alice));
        Assert.Equal(-32004, (int)refused.ErrorCode);
        Assert.Equal("2", await AddAsync(bob));
        Assert.Equal(1, upstream.Requests.Count(r => r.Body?.Contains("\"add\"", StringComparison.Ordinal) == true && r.Body.Contains("tools/call", StringComparison.Ordinal)));

        await gateway.ApplyPolicyAsync("alice-open", OpenPolicy, "--user", "alice");
        Assert.Equal("2", await AddAsync(alice));

        var (code, _, error) = await gateway.CliAsync("policy", "detach", "--user", "alice");
        Assert.True(code == 0, error);
        await Assert.ThrowsAsync<McpProtocolException>(() => AddAsync(alice));

        await SetGroupsAsync(storage, aliceId, """["staff"]""");
        Assert.Equal("2", await AddAsync(alice));

        // The decision log names the layers that were in force for each call (none at all once alice left the group); the log lists the newest first.
        await gateway.StopAsync();
        (code, var output, error) = await gateway.CliAsync("logs", "--format", "jsonl", "--server", "echo", "--tool", "add");
        Assert.True(code == 0, error);
        var versions = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Where(r => r["principalLabel"]!.GetValue<string>() == "alice-laptop")
            .Select(r => (r["decision"]!.GetValue<string>(), r["policyVersion"]?.GetValue<string>())).Reverse().ToList();
        Assert.Equal(
            [("deny", "group=contractors:1"), ("allow", $"group=contractors:1,user={aliceId:D}:1"), ("deny", "group=contractors:1"), ("allow", (string?)null)],
            versions);
    }

    [Fact]
    public async Task GatehouseAccessToken_GetsItsUsersGroupAndUserPolicies()
    {
        await using var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        await using var gateway = await GatewayHarness.StartAsync();
        var storage = new GatehouseStorage(gateway.DataDirectory);
        await AdminCredentials.EnsureAsync(storage, TimeProvider.System);
        await gateway.AddServerAsync("echo", upstream.McpUri);
        using var driver = new OAuthClientDriver(gateway);
        var (_, tokens) = await driver.SignInForAsync("echo");
        var accessToken = tokens.GetProperty("access_token").GetString()!;
        Guid adminId;
        await using (var db = storage.CreateContext())
        {
            adminId = (await db.Users.SingleAsync()).Id;
        }

        await SetGroupsAsync(storage, adminId, """["contractors"]""");
        await gateway.ApplyPolicyAsync("contractors", ContractorsPolicy, "--group", "contractors");
        await using var client = await gateway.ConnectAsync("echo", accessToken);

        Assert.Equal("hi", await EchoAsync(client));
        await Assert.ThrowsAsync<McpProtocolException>(() => AddAsync(client));

        await gateway.ApplyPolicyAsync("admin-open", OpenPolicy, "--user", adminId.ToString());
        Assert.Equal("2", await AddAsync(client));
    }

    private static async Task<string> EchoAsync(McpClient client) =>
        Assert.IsType<TextContentBlock>((await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" })).Content.Single()).Text;

    private static async Task<string> AddAsync(McpClient client) =>
        Assert.IsType<TextContentBlock>((await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 })).Content.Single()).Text;

    private static async Task<Guid> AddUserAsync(GatewayHarness gateway, string name)
    {
        var (code, _, error) = await gateway.CliAsync("user", "add", name);
        Assert.True(code == 0, error);
        (code, var output, error) = await gateway.CliAsync("--json", "user", "list");
        Assert.True(code == 0, error);
        return JsonNode.Parse(output)!.AsArray().Single(u => u!["name"]!.GetValue<string>() == name)!["id"]!.GetValue<Guid>();
    }

    private static async Task<string> CreateOwnedGrantAsync(GatewayHarness gateway, string label, string owner)
    {
        var (code, output, error) = await gateway.CliAsync("--json", "grant", "create", "--server", "echo", "--label", label, "--owner", owner);
        Assert.True(code == 0, error);
        return JsonNode.Parse(output)!["token"]!.GetValue<string>();
    }

    // Groups arrive from the identity provider at sign-in; here they are written directly, then committed as any
    // configuration change is (revision bump and change stamp), so the running gateway reloads on the next request.
    private static async Task SetGroupsAsync(GatehouseStorage storage, Guid userId, string groupsJson)
    {
        await using var db = storage.CreateContext();
        (await db.Users.SingleAsync(u => u.Id == userId)).GroupsJson = groupsJson;
        await ConfigurationCommit.SaveUnauditedAsync(db, storage.TouchChangeStamp, CancellationToken.None);
    }
}
