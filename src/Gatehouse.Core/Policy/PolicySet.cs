namespace Gatehouse.Core.Policy;

/// <summary>
/// One policy attached at one level (the server's default, a group's, a user's, a grant's override), with its quota
/// requirements precomputed because their keys name the layer.
/// </summary>
public sealed class PolicyLayer
{
    /// <summary>Attaches <paramref name="policy"/> at the level called <paramref name="name"/> (e.g. <c>server</c>).</summary>
    /// <exception cref="ArgumentException">The name is empty or contains ':' or ','.</exception>
    public PolicyLayer(string name, CompiledPolicy policy)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(policy);
        if (name.AsSpan().IndexOfAny(':', ',') >= 0)
        {
            // The name is part of quota keys and of the version string, both of which use these as separators.
            throw new ArgumentException("A layer name may not contain ':' or ','.", nameof(name));
        }

        Name = name;
        Policy = policy;
        RuleQuotas = new QuotaRequirement[policy.RuleCount][];
        foreach (var rule in policy.AllRules())
        {
            RuleQuotas[rule.Index] = Requirements(name, rule.Limits);
        }

        AllToolsQuotas = Requirements(name, policy.AllToolsLimits);
        RuleQuotasWithAllTools = new QuotaRequirement[policy.RuleCount][];
        foreach (var rule in policy.AllRules())
        {
            RuleQuotasWithAllTools[rule.Index] = RuleQuotas[rule.Index].Length == 0 ? [] : [.. RuleQuotas[rule.Index], .. AllToolsQuotas];
        }
    }

    /// <summary>The level's name, used in quota keys and in <see cref="PolicySet.Version"/>.</summary>
    public string Name { get; }

    /// <summary>The name of the server level.</summary>
    public const string ServerName = "server";

    /// <summary>The name of the grant level.</summary>
    public const string GrantName = "grant";

    /// <summary>
    /// The name of a group's level, <c>group=NAME</c>. Identity providers may put any character in a group's name
    /// (<c>CN=eng,OU=people</c>), so '%', ':' and ',' are percent-encoded to keep quota keys and versions parseable.
    /// </summary>
    public static string GroupName(string group)
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        return "group=" + group.Replace("%", "%25", StringComparison.Ordinal).Replace(":", "%3A", StringComparison.Ordinal).Replace(",", "%2C", StringComparison.Ordinal);
    }

    /// <summary>The name of a user's level, <c>user=ID</c>: the id, not the display name, which may change or be shared.</summary>
    public static string UserName(Guid user) => "user=" + user.ToString("D");

    /// <summary>The policy attached at this level.</summary>
    public CompiledPolicy Policy { get; }

    internal QuotaRequirement[][] RuleQuotas { get; }

    internal QuotaRequirement[] AllToolsQuotas { get; }

    /// <summary>Per rule: its quotas followed by <c>all_tools</c>', so the common combination needs no allocation.</summary>
    internal QuotaRequirement[][] RuleQuotasWithAllTools { get; }

    private static QuotaRequirement[] Requirements(string layer, LimitSpec[] limits) =>
        limits.Length == 0
            ? []
            : [.. limits.Select(l => new QuotaRequirement($"{layer}:{l.Pointer}", l.Pointer, l.Calls, l.Window, l.WindowText))];
}

/// <summary>
/// The policies that apply to one call, from the least specific layer to the most specific. Build it once per
/// (server, grant) pair when configuration changes, not per call: composing precomputes keys and the version string.
/// </summary>
public sealed class PolicySet
{
    private PolicySet(PolicyLayer[] layers)
    {
        LayerArray = layers;
        Version = layers.Length == 0 ? "none" : string.Join(",", layers.Select(static l => $"{l.Name}:{l.Policy.Version}"));
    }

    /// <summary>No policy at all: every call is allowed with rule <c>(no policy)</c>.</summary>
    public static PolicySet Empty { get; } = new([]);

    /// <summary>The layers, least specific first; the last one supplies the default.</summary>
    public IReadOnlyList<PolicyLayer> Layers => LayerArray;

    /// <summary>The revisions in force, e.g. <c>server:3,grant:1</c>, or <c>none</c>.</summary>
    public string Version { get; }

    internal PolicyLayer[] LayerArray { get; }

    /// <summary>The server's default policy overridden by the grant's; either may be null.</summary>
    public static PolicySet Compose(CompiledPolicy? serverPolicy, CompiledPolicy? grantPolicy) => Compose(serverPolicy, [], null, grantPolicy);

    /// <summary>
    /// Every level that can carry a policy, least specific first: the server, each of the user's groups that has a policy
    /// (ordered by group name, ordinally, whatever order the identity provider listed them in), the user, the grant.
    /// Any of them may be absent.
    /// </summary>
    public static PolicySet Compose(
        CompiledPolicy? serverPolicy, IEnumerable<(string Group, CompiledPolicy Policy)> groupPolicies, (Guid User, CompiledPolicy Policy)? userPolicy,
        CompiledPolicy? grantPolicy)
    {
        ArgumentNullException.ThrowIfNull(groupPolicies);
        var layers = new List<PolicyLayer>();
        if (serverPolicy is not null)
        {
            layers.Add(new PolicyLayer(PolicyLayer.ServerName, serverPolicy));
        }

        // A group listed twice is one layer: its quotas must not be counted under two keys, nor its rules applied twice.
        foreach (var group in groupPolicies.DistinctBy(static g => g.Group, StringComparer.Ordinal).OrderBy(static g => g.Group, StringComparer.Ordinal))
        {
            layers.Add(new PolicyLayer(PolicyLayer.GroupName(group.Group), group.Policy));
        }

        if (userPolicy is { } user)
        {
            layers.Add(new PolicyLayer(PolicyLayer.UserName(user.User), user.Policy));
        }

        if (grantPolicy is not null)
        {
            layers.Add(new PolicyLayer(PolicyLayer.GrantName, grantPolicy));
        }

        return layers.Count == 0 ? Empty : new PolicySet([.. layers]);
    }

    /// <summary>Any number of layers, least specific first (e.g. server, group, user, grant).</summary>
    /// <exception cref="ArgumentException">Two layers share a name.</exception>
    public static PolicySet FromLayers(IEnumerable<PolicyLayer> layersLeastSpecificFirst)
    {
        ArgumentNullException.ThrowIfNull(layersLeastSpecificFirst);
        PolicyLayer[] layers = [.. layersLeastSpecificFirst];
        if (layers.Select(static l => l.Name).Distinct(StringComparer.Ordinal).Count() != layers.Length)
        {
            // Quota keys are "layer:pointer"; two layers with one name would share counters.
            throw new ArgumentException("Each layer needs its own name.", nameof(layersLeastSpecificFirst));
        }

        return layers.Length == 0 ? Empty : new PolicySet(layers);
    }
}
