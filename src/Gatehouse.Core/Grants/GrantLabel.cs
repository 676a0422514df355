using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Gatehouse.Core.Grants;

/// <summary>Validates grant labels, which name a client or automation in logs and listings.</summary>
public static partial class GrantLabel
{
    /// <summary>Returns true when the label is 1-64 characters of letters, digits, '.', '_', '@' or '-'.</summary>
    public static bool TryValidate(string? label, [NotNullWhen(false)] out string? problem)
    {
        if (string.IsNullOrEmpty(label) || !Pattern().IsMatch(label))
        {
            problem = $"'{label}' is not a valid grant label: use 1-64 letters, digits, '.', '_', '@' or '-' (e.g. 'alice-laptop').";
            return false;
        }

        problem = null;
        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
