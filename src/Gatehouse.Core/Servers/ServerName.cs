using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Gatehouse.Core.Servers;

/// <summary>Validates server names: they appear in URLs, so they are lower-case slugs.</summary>
public static partial class ServerName
{
    /// <summary>Returns true when <paramref name="name"/> is a valid slug; otherwise gives a message saying how to fix it.</summary>
    public static bool TryValidate(string? name, [NotNullWhen(false)] out string? problem)
    {
        if (string.IsNullOrEmpty(name))
        {
            problem = "a server name is required (lower-case letters, digits and '-', e.g. 'github').";
            return false;
        }

        if (!SlugPattern().IsMatch(name))
        {
            problem = $"'{name}' is not a valid server name: use 1-63 lower-case letters, digits and '-', starting with a letter or digit (e.g. 'github-prod').";
            return false;
        }

        problem = null;
        return true;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();
}
