using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gatehouse.Core.Policy;

/// <summary>
/// Decides calls against a <see cref="PolicySet"/>. Pure: no I/O, no clock, no shared mutable state, and a denial is
/// a value, never an exception. Quotas are only named here (<see cref="PolicyDecision.Quotas"/>); charging them is the
/// caller's job with an <see cref="IQuotaCounter"/>.
/// </summary>
/// <remarks>
/// Precedence (docs/policy.md): every rule of every layer whose pattern matches applies; the most restrictive action
/// wins (hide, then deny, then allow); for an allowed call every <c>required</c>/<c>require</c> of every matching rule
/// must hold and no <c>deny_if</c> may hold. When no rule matches, the most specific layer's <c>default</c> decides.
/// </remarks>
public static class PolicyEvaluator
{
    /// <summary>Decides one call of <paramref name="target"/> named <paramref name="name"/> (a tool or prompt name, a resource URI).</summary>
    /// <param name="set">The policies in force for this call.</param>
    /// <param name="target">Tool, resource or prompt.</param>
    /// <param name="name">The tool name, prompt name or resource URI as the client sent it.</param>
    /// <param name="arguments">
    /// The call's <c>arguments</c> object, or null when absent. Only read when <see cref="NeedsArguments"/> is true,
    /// so callers may pass null otherwise.
    /// </param>
    public static PolicyDecision Evaluate(PolicySet set, PolicyTarget target, string name, JsonElement? arguments)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(name);
        var layers = set.LayerArray;
        if (layers.Length == 0)
        {
            return new PolicyDecision(PolicyAction.Allow, PolicyDecision.NoPolicyRule, null, set.Version, Array.Empty<QuotaRequirement>(), false);
        }

        var scan = Scan(layers, target, name);
        if (scan.Best is null)
        {
            var deciding = layers[^1].Policy;
            return deciding.Default == PolicyAction.Deny
                ? new PolicyDecision(PolicyAction.Deny, PolicyDecision.DefaultDenyRule, deciding.OnDeny ?? PolicyMessages.DefaultDeny(target, name), set.Version, Array.Empty<QuotaRequirement>(), false)
                : new PolicyDecision(PolicyAction.Allow, PolicyDecision.DefaultAllowRule, null, set.Version, Quotas(layers, target, name, in scan), false);
        }

        var logArguments = scan.LogOptIn && !scan.LogOptOut;
        switch (scan.Strongest)
        {
            case PolicyAction.Hide:
                return new PolicyDecision(PolicyAction.Hide, PolicyDecision.HiddenRule, PolicyMessages.Hidden(target, name), set.Version, Array.Empty<QuotaRequirement>(), false);

            case PolicyAction.Deny:
                var message = scan.Best.OnDeny ?? layers[scan.BestLayer].Policy.OnDeny ?? PolicyMessages.DeniedByRule(target, name, scan.Best.Pointer);
                return new PolicyDecision(PolicyAction.Deny, scan.Best.Pointer, message, set.Version, Array.Empty<QuotaRequirement>(), logArguments);
        }

        if (scan.AnyConditions)
        {
            var conditions = new ConditionScan { Arguments = arguments };
            if (scan.ConditionedCount <= ConditionedBuffer.Capacity)
            {
                // The usual case: the first pass kept the few rules with conditions, so no second match is needed.
                for (var i = 0; i < scan.ConditionedCount; i++)
                {
                    conditions.LayerIndex = scan.Conditioned[i].Layer;
                    conditions.Visit(scan.Conditioned[i].Rule);
                }
            }
            else
            {
                for (var i = 0; i < layers.Length; i++)
                {
                    conditions.LayerIndex = i;
                    layers[i].Policy.Table(target).VisitMatches(name, ref conditions);
                }
            }

            if (conditions.FailedRule is { } failed)
            {
                var message = failed.OnDeny ?? layers[conditions.FailedLayer].Policy.OnDeny
                    ?? PolicyMessages.ConditionFailed(conditions.FailedCondition!, conditions.FailedResult, conditions.FailedInDenyIf);
                return new PolicyDecision(PolicyAction.Deny, conditions.FailedCondition!.Pointer, message, set.Version, Array.Empty<QuotaRequirement>(), logArguments);
            }
        }

        return new PolicyDecision(PolicyAction.Allow, scan.Best.Pointer, null, set.Version, Quotas(layers, target, name, in scan), logArguments);
    }

    /// <summary>
    /// True when deciding this call reads its arguments (some matching rule has conditions and nothing denies or hides
    /// it outright), so callers parse arguments only then.
    /// </summary>
    public static bool NeedsArguments(PolicySet set, PolicyTarget target, string name)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(name);
        if (set.LayerArray.Length == 0)
        {
            return false;
        }

        var scan = Scan(set.LayerArray, target, name);
        return scan.Best is not null && scan.Strongest == PolicyAction.Allow && scan.AnyConditions;
    }

    /// <summary>True when some layer hides this entry: drop it from <c>tools/list</c>, <c>resources/list</c> or <c>prompts/list</c>.</summary>
    public static bool IsHidden(PolicySet set, PolicyTarget target, string name)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(name);
        return set.LayerArray.Length != 0 && Scan(set.LayerArray, target, name).Strongest == PolicyAction.Hide;
    }

    private static MatchScan Scan(PolicyLayer[] layers, PolicyTarget target, string name)
    {
        var scan = default(MatchScan);
        for (var i = 0; i < layers.Length; i++)
        {
            scan.Layer = layers[i];
            scan.LayerIndex = i;
            layers[i].Policy.Table(target).VisitMatches(name, ref scan);
        }

        return scan;
    }

    /// <summary>
    /// The quotas of an allowed call: those of every matching rule, then <c>all_tools</c> of every layer. A single
    /// source is returned as its precomputed array, so the common case allocates nothing.
    /// </summary>
    private static IReadOnlyList<QuotaRequirement> Quotas(PolicyLayer[] layers, PolicyTarget target, string name, in MatchScan scan)
    {
        var sources = scan.QuotaSources;
        var single = scan.SingleQuota;
        var allToolsLayer = -1;
        if (target == PolicyTarget.Tool)
        {
            for (var i = 0; i < layers.Length; i++)
            {
                if (layers[i].AllToolsQuotas.Length != 0)
                {
                    sources++;
                    single ??= layers[i].AllToolsQuotas;
                    allToolsLayer = i;
                }
            }
        }

        if (sources == 0)
        {
            return Array.Empty<QuotaRequirement>();
        }

        if (sources == 1)
        {
            return single!;
        }

        if (sources == 2 && scan.QuotaSources == 1 && allToolsLayer == scan.QuotaLayer)
        {
            // One rule with limits plus all_tools of the same layer: precombined when the layer was built.
            return layers[allToolsLayer].RuleQuotasWithAllTools[scan.QuotaRule!.Index];
        }

        var collector = new QuotaCollector { List = [] };
        foreach (var layer in layers)
        {
            collector.Layer = layer;
            layer.Policy.Table(target).VisitMatches(name, ref collector);
        }

        if (target == PolicyTarget.Tool)
        {
            foreach (var layer in layers)
            {
                collector.List.AddRange(layer.AllToolsQuotas);
            }
        }

        return collector.List.ToArray();
    }

    /// <summary>First pass: the strongest action, the rule to report, and what the call will need.</summary>
    private struct MatchScan : IRuleVisitor
    {
        public PolicyLayer Layer;
        public int LayerIndex;
        public CompiledRule? Best;
        public int BestLayer;
        public PolicyAction Strongest;
        public bool AnyConditions;
        public int QuotaSources;
        public QuotaRequirement[]? SingleQuota;
        public CompiledRule? QuotaRule;
        public int QuotaLayer;
        public bool LogOptIn;
        public bool LogOptOut;
        public ConditionedBuffer Conditioned;
        public int ConditionedCount;

        public void Visit(CompiledRule rule)
        {
            if (Best is null || rule.Action > Strongest
                || (rule.Action == Strongest && CompiledRule.Precedes(rule, LayerIndex, Best, BestLayer)))
            {
                Best = rule;
                BestLayer = LayerIndex;
                Strongest = rule.Action;
            }

            if (rule.HasConditions)
            {
                AnyConditions = true;
                if (ConditionedCount < ConditionedBuffer.Capacity)
                {
                    Conditioned[ConditionedCount] = new MatchedRule(rule, LayerIndex);
                }

                ConditionedCount++;
            }

            LogOptIn |= rule.LogArguments == true;
            LogOptOut |= rule.LogArguments == false;
            var quotas = Layer.RuleQuotas[rule.Index];
            if (quotas.Length != 0)
            {
                if (QuotaSources++ == 0)
                {
                    SingleQuota = quotas;
                    QuotaRule = rule;
                    QuotaLayer = LayerIndex;
                }
            }
        }
    }

    /// <summary>A matching rule and the index of its layer.</summary>
    private readonly record struct MatchedRule(CompiledRule Rule, int Layer);

    /// <summary>The rules with conditions found by the first pass, kept inline so that the pass allocates nothing.</summary>
    [InlineArray(Capacity)]
    private struct ConditionedBuffer
    {
        public const int Capacity = 4;

        private MatchedRule element;
    }

    /// <summary>
    /// Second pass, only when some matching rule has conditions: finds the failure to report, the first in the
    /// documented order (rule precedence, then required, require, deny_if in document order).
    /// </summary>
    private struct ConditionScan : IRuleVisitor
    {
        public JsonElement? Arguments;
        public int LayerIndex;
        public CompiledRule? FailedRule;
        public int FailedLayer;
        public ArgumentCondition? FailedCondition;
        public ConditionResult FailedResult;
        public bool FailedInDenyIf;

        public void Visit(CompiledRule rule)
        {
            if (!rule.HasConditions
                || (FailedRule is not null && !CompiledRule.Precedes(rule, LayerIndex, FailedRule, FailedLayer)))
            {
                return;
            }

            foreach (var condition in rule.Require)
            {
                var result = condition.Evaluate(Arguments);
                if (result.Outcome != ConditionOutcome.Holds)
                {
                    Record(rule, condition, result, denyIf: false);
                    return;
                }
            }

            foreach (var condition in rule.DenyIf)
            {
                var result = condition.Evaluate(Arguments);

                // A missing argument cannot trigger a deny_if; a mistyped one denies (fail closed), as does a timeout.
                if (result.Outcome is ConditionOutcome.Holds or ConditionOutcome.Mismatch or ConditionOutcome.TimedOut)
                {
                    Record(rule, condition, result, denyIf: true);
                    return;
                }
            }
        }

        private void Record(CompiledRule rule, ArgumentCondition condition, ConditionResult result, bool denyIf)
        {
            FailedRule = rule;
            FailedLayer = LayerIndex;
            FailedCondition = condition;
            FailedResult = result;
            FailedInDenyIf = denyIf;
        }
    }

    /// <summary>Collects the quotas of every matching rule when there is more than one source.</summary>
    private struct QuotaCollector : IRuleVisitor
    {
        public List<QuotaRequirement> List;
        public PolicyLayer Layer;

        public readonly void Visit(CompiledRule rule) => List.AddRange(Layer.RuleQuotas[rule.Index]);
    }
}
