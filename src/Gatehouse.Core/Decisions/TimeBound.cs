using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Gatehouse.Core.Configuration;

namespace Gatehouse.Core.Decisions;

/// <summary>Reads a time bound for log queries: an ISO 8601 time, or a duration (<c>1h</c>, <c>7d</c>) meaning that long ago.</summary>
public static class TimeBound
{
    /// <summary>Parses <paramref name="text"/> relative to <paramref name="now"/>.</summary>
    public static bool TryParse(string text, DateTimeOffset now, out DateTimeOffset value, [NotNullWhen(false)] out string? problem)
    {
        value = default;
        problem = null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            value = at;
            return true;
        }

        if (DurationParser.TryParse(text, out var ago, out _))
        {
            value = now - ago;
            return true;
        }

        problem = $"'{text}' is neither an ISO 8601 time (2026-01-31T12:00:00Z) nor a duration ago (30m, 1h, 7d).";
        return false;
    }
}
