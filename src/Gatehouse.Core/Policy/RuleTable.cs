using System.Collections.Frozen;

namespace Gatehouse.Core.Policy;

/// <summary>Receives each rule matching a name; implemented by structs so matching allocates nothing.</summary>
internal interface IRuleVisitor
{
    void Visit(CompiledRule rule);
}

/// <summary>
/// The rules of one section (tools, resources or prompts), indexed for matching: exact names in a frozen dictionary,
/// <c>prefix*</c> and <c>*suffix</c> patterns in one frozen dictionary per literal length (looked up with a span of
/// the name, so nothing is allocated), <c>*</c> in a list, and only the remaining globs scanned.
/// </summary>
internal sealed class RuleTable
{
    private readonly FrozenDictionary<string, CompiledRule> exact;
    private readonly AffixGroup[] prefixes;
    private readonly AffixGroup[] suffixes;
    private readonly CompiledRule[] any;
    private readonly CompiledRule[] globs;

    public RuleTable(IReadOnlyList<CompiledRule> rules)
    {
        Rules = rules;
        var exactRules = new Dictionary<string, CompiledRule>(StringComparer.Ordinal);
        var anyRules = new List<CompiledRule>();
        var globRules = new List<CompiledRule>();
        var prefixRules = new List<CompiledRule>();
        var suffixRules = new List<CompiledRule>();
        foreach (var rule in rules)
        {
            switch (rule.Kind)
            {
                case PatternKind.Exact:
                    // The parser refuses duplicate keys, so each exact name has one rule.
                    exactRules[rule.Pattern] = rule;
                    break;
                case PatternKind.Prefix:
                    prefixRules.Add(rule);
                    break;
                case PatternKind.Suffix:
                    suffixRules.Add(rule);
                    break;
                case PatternKind.Any:
                    anyRules.Add(rule);
                    break;
                default:
                    globRules.Add(rule);
                    break;
            }
        }

        exact = exactRules.ToFrozenDictionary(StringComparer.Ordinal);
        prefixes = Group(prefixRules);
        suffixes = Group(suffixRules);
        any = [.. anyRules];
        globs = [.. globRules];
        HasConditions = rules.Any(static r => r.HasConditions);
    }

    /// <summary>Every rule of the section in document order.</summary>
    public IReadOnlyList<CompiledRule> Rules { get; }

    /// <summary>True when some rule of the section has argument conditions.</summary>
    public bool HasConditions { get; }

    /// <summary>Calls <paramref name="visitor"/> once for each rule whose pattern matches <paramref name="name"/>.</summary>
    public void VisitMatches<TVisitor>(string name, ref TVisitor visitor)
        where TVisitor : struct, IRuleVisitor
    {
        if (exact.TryGetValue(name, out var rule))
        {
            visitor.Visit(rule);
        }

        var span = name.AsSpan();
        foreach (ref readonly var group in prefixes.AsSpan())
        {
            if (group.Length > span.Length)
            {
                break;
            }

            if (group.Lookup.TryGetValue(span[..group.Length], out var matched))
            {
                VisitAll(matched, ref visitor);
            }
        }

        foreach (ref readonly var group in suffixes.AsSpan())
        {
            if (group.Length > span.Length)
            {
                break;
            }

            if (group.Lookup.TryGetValue(span[^group.Length..], out var matched))
            {
                VisitAll(matched, ref visitor);
            }
        }

        foreach (var glob in globs)
        {
            if (NamePattern.IsMatch(glob.Pattern, span))
            {
                visitor.Visit(glob);
            }
        }

        VisitAll(any, ref visitor);
    }

    private static void VisitAll<TVisitor>(CompiledRule[] rules, ref TVisitor visitor)
        where TVisitor : struct, IRuleVisitor
    {
        foreach (var rule in rules)
        {
            visitor.Visit(rule);
        }
    }

    /// <summary>Groups affix rules by literal length, shortest first, so a lookup can stop at the name's length.</summary>
    private static AffixGroup[] Group(List<CompiledRule> rules) =>
        [.. rules
            .GroupBy(static r => r.Literal.Length)
            .OrderBy(static g => g.Key)
            .Select(static g => new AffixGroup(
                g.Key,
                g.GroupBy(static r => r.Literal, StringComparer.Ordinal)
                    .ToFrozenDictionary(static x => x.Key, static x => x.ToArray(), StringComparer.Ordinal)
                    .GetAlternateLookup<ReadOnlySpan<char>>()))];

    /// <summary>All prefix (or suffix) literals of one length.</summary>
    private readonly record struct AffixGroup(int Length, FrozenDictionary<string, CompiledRule[]>.AlternateLookup<ReadOnlySpan<char>> Lookup);
}
