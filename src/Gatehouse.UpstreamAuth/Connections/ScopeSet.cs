namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>Space-separated OAuth scope strings as sets (RFC 6749 §3.3: order does not matter, duplicates mean nothing).</summary>
public static class ScopeSet
{
    /// <summary>The scopes in <paramref name="value"/>.</summary>
    public static HashSet<string> Parse(string? value) =>
        new((value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);

    /// <summary>The union, space-separated in a stable order; null when empty.</summary>
    public static string? Union(params string?[] values)
    {
        var all = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            all.UnionWith(Parse(value));
        }

        return all.Count == 0 ? null : string.Join(' ', all);
    }

    /// <summary>True when every scope of <paramref name="subset"/> is in <paramref name="superset"/>.</summary>
    public static bool Covers(string? superset, string? subset) => Parse(subset).IsSubsetOf(Parse(superset));

    /// <summary>True when both name the same scopes.</summary>
    public static bool SameAs(string? left, string? right) => Parse(left).SetEquals(Parse(right));
}
