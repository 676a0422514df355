using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Gatehouse.Core.Configuration;

/// <summary>Parses short durations such as <c>30d</c>, <c>12h</c>, <c>90m</c>, <c>45s</c> or <c>2w</c>.</summary>
public static class DurationParser
{
    /// <summary>Parses a positive duration.</summary>
    public static bool TryParse(string? text, out TimeSpan duration, [NotNullWhen(false)] out string? problem)
    {
        duration = default;
        problem = null;
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length < 2
            || !long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0 || amount > 100_000)
        {
            problem = $"'{text}' is not a duration: use a positive number followed by s, m, h, d or w (e.g. 30d).";
            return false;
        }

        TimeSpan? parsed = char.ToLowerInvariant(value[^1]) switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            'w' => TimeSpan.FromDays(7 * amount),
            _ => null,
        };
        if (parsed is null)
        {
            problem = $"'{text}' has an unknown unit '{value[^1]}': use s, m, h, d or w (e.g. 30d).";
            return false;
        }

        duration = parsed.Value;
        return true;
    }
}
