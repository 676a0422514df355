using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class UserAndGroupLayerTests
{
    private static readonly Guid Alice = Guid.Parse("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");

    private static CompiledPolicy Versioned(int version) => Compile($"version: {version}\ndefault: allow\n");

    [Fact]
    public void Layers_run_server_then_groups_by_name_then_user_then_grant_whatever_order_the_groups_come_in()
    {
        var set = PolicySet.Compose(Versioned(1), [("zeta", Versioned(3)), ("alpha", Versioned(2)), ("zeta", Versioned(3))], (Alice, Versioned(4)), Versioned(5));

        Assert.Equal(["server", "group=alpha", "group=zeta", $"user={Alice:D}", "grant"], set.Layers.Select(l => l.Name));
        Assert.Equal($"server:1,group=alpha:2,group=zeta:3,user={Alice:D}:4,grant:5", set.Version);
        Assert.Equal(set.Version, Tool(set, "anything").PolicyVersion);
    }

    [Fact]
    public void Group_names_keep_version_strings_and_quota_keys_parseable_by_encoding_colons_and_commas()
    {
        Assert.Equal("group=CN=eng%2COU=people", PolicyLayer.GroupName("CN=eng,OU=people"));
        Assert.Equal("group=a%3Ab%25c", PolicyLayer.GroupName("a:b%c"));
        Assert.NotEqual(PolicyLayer.GroupName("a%3Ab"), PolicyLayer.GroupName("a:b"));

        var set = PolicySet.Compose(null, [("CN=eng,OU=people", Versioned(2))], null, null);
        Assert.Equal("group=CN=eng%2COU=people:2", set.Version);
    }

    [Fact]
    public void Each_group_and_user_layer_counts_its_quotas_under_its_own_key()
    {
        var limited = Compile("version: 1\ndefault: allow\ntools:\n  deploy:\n    limits: [{ calls: 3, per: 1h }]\nall_tools:\n  limits: [{ calls: 100, per: 1d }]\n");
        var set = PolicySet.Compose(null, [("ops", limited), ("eng", limited)], (Alice, limited), null);

        var decision = Tool(set, "deploy");

        Assert.Equal(
            [
                "group=eng:/tools/deploy/limits/0", "group=ops:/tools/deploy/limits/0", $"user={Alice:D}:/tools/deploy/limits/0",
                "group=eng:/all_tools/limits/0", "group=ops:/all_tools/limits/0", $"user={Alice:D}:/all_tools/limits/0",
            ],
            decision.Quotas.Select(q => q.Key));
    }

    [Fact]
    public void The_users_default_overrides_their_groups_but_an_explicit_group_deny_still_wins()
    {
        var contractors = Compile("version: 1\ndefault: deny\ntools:\n  echo: allow\n  drop_table: deny\n");
        var alicePolicy = Compile("version: 2\ndefault: allow\ntools:\n  drop_table: allow\n");
        var set = PolicySet.Compose(null, [("contractors", contractors)], (Alice, alicePolicy), null);

        Assert.Equal("(default deny)", Tool(PolicySet.Compose(null, [("contractors", contractors)], null, null), "add").Rule);
        Assert.Equal((PolicyAction.Allow, "(default allow)"), (Tool(set, "add").Outcome, Tool(set, "add").Rule));
        Assert.Equal((PolicyAction.Deny, "/tools/drop_table"), (Tool(set, "drop_table").Outcome, Tool(set, "drop_table").Rule));
    }

    [Fact]
    public void The_grants_default_overrides_the_users_and_a_group_default_overrides_the_servers()
    {
        var denyAll = Compile("version: 1\ndefault: deny\n");
        var allowAll = Compile("version: 1\ndefault: allow\n");

        Assert.Equal("(default deny)", Tool(PolicySet.Compose(null, [], (Alice, allowAll), denyAll), "x").Rule);
        Assert.Equal("(default allow)", Tool(PolicySet.Compose(denyAll, [("eng", allowAll)], null, null), "x").Rule);
        Assert.Same(PolicySet.Empty, PolicySet.Compose(null, [], null, null));
    }
}
