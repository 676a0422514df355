using Gatehouse.Core.Configuration;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Configuration;

public sealed class SnapshotPolicyTests
{
    private static readonly Guid Alice = Guid.NewGuid();
    private static readonly Guid Bob = Guid.NewGuid();
    private static readonly ServerDefinition Server = new() { Id = Guid.NewGuid(), Name = "echo", Url = new Uri("https://mcp.example.com/mcp"), PolicyName = "server-default" };

    private static Grant GrantOf(Guid? owner, string? policy = null) => new()
    {
        Id = Guid.NewGuid(), Label = "g" + Guid.NewGuid().ToString("N")[..8], Servers = new HashSet<string> { "echo" }, TokenHash = Guid.NewGuid().ToString("N"),
        CreatedAt = DateTimeOffset.UnixEpoch, OwnerUserId = owner, PolicyName = policy,
    };

    private static GatewaySnapshot Snapshot(params Grant[] grants) => new(
        1, [Server], grants,
        new Dictionary<string, CompiledPolicy>
        {
            ["server-default"] = Compile("version: 1\ndefault: allow\n"),
            ["contractors"] = Compile("version: 2\ndefault: allow\ntools:\n  add: deny\n"),
            ["alice"] = Compile("version: 3\ndefault: allow\n"),
        },
        users: [new GatewayUser(Alice, ["staff", "contractors"], "alice"), new GatewayUser(Bob, ["staff"], null)],
        groupPolicies: new Dictionary<string, string> { ["contractors"] = "contractors", ["auditors"] = "missing-policy" });

    [Fact]
    public void A_grant_gets_its_owners_group_and_user_policies_and_an_organisation_grant_gets_none()
    {
        var owned = GrantOf(Alice);
        var organisation = GrantOf(null);
        var snapshot = Snapshot(owned, organisation);

        Assert.Equal($"server:1,group=contractors:2,user={Alice:D}:3", snapshot.PolicyFor(Server, owned).Version);
        Assert.Equal("server:1", snapshot.PolicyFor(Server, organisation).Version);
        Assert.Equal("server:1", snapshot.PolicyFor(Server, organisation, Alice).Version);
        Assert.Equal(PolicyAction.Deny, Tool(snapshot.PolicyFor(Server, owned), "add").Outcome);
    }

    [Fact]
    public void A_signed_in_user_without_a_grant_gets_their_policies_and_a_user_without_any_only_the_servers()
    {
        var snapshot = Snapshot();

        Assert.Equal($"server:1,group=contractors:2,user={Alice:D}:3", snapshot.PolicyFor(Server, null, Alice).Version);
        Assert.Equal("server:1", snapshot.PolicyFor(Server, null, Bob).Version);
        Assert.Equal("server:1", snapshot.PolicyFor(Server, null, Guid.NewGuid()).Version);
    }

    [Fact]
    public void Composed_sets_are_memoised_per_server_user_and_grant()
    {
        var snapshot = Snapshot();

        Assert.Same(snapshot.PolicyFor(Server, null, Alice), snapshot.PolicyFor(Server, null, Alice));
        Assert.NotSame(snapshot.PolicyFor(Server, null, Alice), snapshot.PolicyFor(Server, null, Bob));
        Assert.Same(snapshot.PolicyFor(Server, null, Bob), snapshot.PolicyFor(Server, null));
    }

    [Fact]
    public void A_group_policy_attached_by_name_but_missing_denies_everything()
    {
        var carol = Guid.NewGuid();
        var snapshot = new GatewaySnapshot(1, [Server with { PolicyName = null }], [], users: [new GatewayUser(carol, ["auditors"], null)],
            groupPolicies: new Dictionary<string, string> { ["auditors"] = "missing-policy" });

        var decision = Tool(snapshot.PolicyFor(Server with { PolicyName = null }, null, carol), "echo");

        Assert.Equal(PolicyAction.Deny, decision.Outcome);
        Assert.StartsWith("group=auditors:", decision.PolicyVersion, StringComparison.Ordinal);
    }
}
