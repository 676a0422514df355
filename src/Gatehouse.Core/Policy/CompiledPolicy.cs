namespace Gatehouse.Core.Policy;

/// <summary>
/// A validated policy document in its evaluation form: immutable and safe to share between threads. Obtain one from
/// <see cref="PolicyDocumentParser.Parse(string)"/>; combine with others through <see cref="PolicySet"/>.
/// </summary>
public sealed class CompiledPolicy
{
    private readonly RuleTable tools;
    private readonly RuleTable resources;
    private readonly RuleTable prompts;

    internal CompiledPolicy(int version, PolicyAction @default, string? onDeny, RuleTable tools, RuleTable resources, RuleTable prompts, LimitSpec[] allToolsLimits)
    {
        Version = version;
        Default = @default;
        OnDeny = onDeny;
        this.tools = tools;
        this.resources = resources;
        this.prompts = prompts;
        AllToolsLimits = allToolsLimits;

        // Number rules across sections so a layer can keep one quota table for the whole policy.
        var index = 0;
        foreach (var table in new[] { tools, resources, prompts })
        {
            foreach (var rule in table.Rules)
            {
                rule.Index = index++;
            }
        }

        RuleCount = index;
    }

    /// <summary>The policy's own revision (<c>version</c>), shown in decisions.</summary>
    public int Version { get; }

    /// <summary>What happens when no rule matches: <see cref="PolicyAction.Allow"/> or <see cref="PolicyAction.Deny"/>.</summary>
    public PolicyAction Default { get; }

    /// <summary>The policy's default message for denials (<c>on_deny</c>), if any.</summary>
    public string? OnDeny { get; }

    /// <summary>The number of rules across tools, resources and prompts.</summary>
    public int RuleCount { get; }

    internal LimitSpec[] AllToolsLimits { get; }

    /// <summary>
    /// Stands in for a policy that is attached by name but cannot be used (e.g. it failed to compile): version 0, and
    /// an explicit <c>'*': deny</c> for tools, resources and prompts. Explicit, because an explicit deny wins over any
    /// other layer's allow, whereas a mere <c>default: deny</c> would let other layers' allow rules through.
    /// </summary>
    /// <param name="name">The policy's name, quoted in the denial message.</param>
    public static CompiledPolicy DenyAll(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        RuleTable Everything(string section) =>
            new([new CompiledRule("*", PolicyDocumentParser.Pointer("/" + section, "*"), PolicyAction.Deny, 0, [], [], [], null, null)]);

        return new CompiledPolicy(0, PolicyAction.Deny,
            $"Policy '{name}' is attached but could not be loaded, so every call is denied. Ask an administrator to fix and apply it again.",
            Everything("tools"), Everything("resources"), Everything("prompts"), []);
    }

    internal RuleTable Table(PolicyTarget target) => target switch
    {
        PolicyTarget.Tool => tools,
        PolicyTarget.Resource => resources,
        _ => prompts,
    };

    internal IEnumerable<CompiledRule> AllRules() =>
        tools.Rules.Concat(resources.Rules).Concat(prompts.Rules);
}
