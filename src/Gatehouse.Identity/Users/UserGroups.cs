using System.Text.Json;

namespace Gatehouse.Identity.Users;

/// <summary>Reads the stored JSON array of a user's identity-provider groups.</summary>
public static class UserGroups
{
    /// <summary>The groups; empty when none are stored or the value is not a JSON array of strings.</summary>
    public static IReadOnlyList<string> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(json) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
