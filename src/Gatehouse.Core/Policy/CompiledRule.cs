namespace Gatehouse.Core.Policy;

/// <summary>One quota of a rule as written in the policy: <c>{ calls: 10, per: 1m }</c> at <see cref="Pointer"/>.</summary>
internal sealed record LimitSpec(string Pointer, int Calls, TimeSpan Window, string WindowText);

/// <summary>
/// One rule of a policy, compiled: its pattern, action and everything evaluation needs, with the JSON Pointer
/// precomputed so that a decision never builds strings on the allow path.
/// </summary>
internal sealed class CompiledRule
{
    public CompiledRule(
        string pattern,
        string pointer,
        PolicyAction action,
        int order,
        ArgumentCondition[] require,
        ArgumentCondition[] denyIf,
        LimitSpec[] limits,
        bool? logArguments,
        string? onDeny)
    {
        Pattern = pattern;
        Pointer = pointer;
        Action = action;
        Order = order;
        Require = require;
        DenyIf = denyIf;
        Limits = limits;
        LogArguments = logArguments;
        OnDeny = onDeny;
        Kind = NamePattern.Classify(pattern, out var literal);
        Literal = literal;
        Specificity = Kind == PatternKind.Exact ? int.MaxValue : NamePattern.LiteralLength(pattern);
        HasConditions = require.Length + denyIf.Length > 0;
    }

    /// <summary>The normalized name pattern.</summary>
    public string Pattern { get; }

    /// <summary>JSON Pointer of the rule in its policy, e.g. <c>/tools/issues_*</c>.</summary>
    public string Pointer { get; }

    public PolicyAction Action { get; }

    /// <summary>Position among the rules of its section in document order; breaks ties between equally specific rules.</summary>
    public int Order { get; }

    /// <summary>Index among all rules of the policy (every section), for per-layer quota tables.</summary>
    public int Index { get; set; }

    public PatternKind Kind { get; }

    /// <summary>The literal part of a prefix or suffix pattern; the pattern itself otherwise.</summary>
    public string Literal { get; }

    /// <summary>Exact names rank highest, then patterns by their number of literal characters.</summary>
    public int Specificity { get; }

    /// <summary>The <c>required</c> paths (as <c>present: true</c> conditions) followed by <c>require</c>, in document order.</summary>
    public ArgumentCondition[] Require { get; }

    public ArgumentCondition[] DenyIf { get; }

    public LimitSpec[] Limits { get; }

    public bool? LogArguments { get; }

    public string? OnDeny { get; }

    public bool HasConditions { get; }

    /// <summary>
    /// The documented order among matching rules: more specific pattern first, then the more specific layer, then
    /// document order. Used to choose which rule a decision reports.
    /// </summary>
    public static bool Precedes(CompiledRule rule, int layer, CompiledRule other, int otherLayer) =>
        rule.Specificity != other.Specificity ? rule.Specificity > other.Specificity
        : layer != otherLayer ? layer > otherLayer
        : rule.Order < other.Order;
}
