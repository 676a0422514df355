namespace Gatehouse.Core.Policy;

/// <summary>How a name pattern is matched; decides which index of a <see cref="RuleTable"/> holds it.</summary>
internal enum PatternKind
{
    /// <summary>No wildcard: looked up in a frozen dictionary.</summary>
    Exact,

    /// <summary><c>literal*</c>: looked up by the name's first characters.</summary>
    Prefix,

    /// <summary><c>*literal</c>: looked up by the name's last characters.</summary>
    Suffix,

    /// <summary><c>*</c> alone: matches every name.</summary>
    Any,

    /// <summary>Anything else (<c>?</c>, several <c>*</c>): matched by scanning.</summary>
    Glob,
}

/// <summary>Name patterns with <c>*</c> (any run of characters, also none) and <c>?</c> (one character), compared ordinally.</summary>
internal static class NamePattern
{
    /// <summary>Collapses runs of <c>*</c>, which mean the same as one, so that classification sees the simplest form.</summary>
    public static string Normalize(string pattern)
    {
        if (!pattern.Contains("**", StringComparison.Ordinal))
        {
            return pattern;
        }

        var builder = new System.Text.StringBuilder(pattern.Length);
        foreach (var c in pattern)
        {
            if (c == '*' && builder.Length > 0 && builder[^1] == '*')
            {
                continue;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>Classifies a normalized pattern and returns its literal part (for prefix and suffix patterns).</summary>
    public static PatternKind Classify(string pattern, out string literal)
    {
        literal = pattern;
        if (pattern == "*")
        {
            return PatternKind.Any;
        }

        var stars = 0;
        var questions = false;
        foreach (var c in pattern)
        {
            stars += c == '*' ? 1 : 0;
            questions |= c == '?';
        }

        if (stars == 0 && !questions)
        {
            return PatternKind.Exact;
        }

        if (stars == 1 && !questions && pattern[^1] == '*')
        {
            literal = pattern[..^1];
            return PatternKind.Prefix;
        }

        if (stars == 1 && !questions && pattern[0] == '*')
        {
            literal = pattern[1..];
            return PatternKind.Suffix;
        }

        return PatternKind.Glob;
    }

    /// <summary>The number of non-wildcard characters: the more, the more specific the pattern.</summary>
    public static int LiteralLength(string pattern)
    {
        var count = 0;
        foreach (var c in pattern)
        {
            count += c is '*' or '?' ? 0 : 1;
        }

        return count;
    }

    /// <summary>Matches a whole name against a pattern; linear in practice, backtracking only to the last <c>*</c>.</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starText = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++starText;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
