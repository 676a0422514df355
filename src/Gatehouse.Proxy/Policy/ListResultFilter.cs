using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Proxy.Policy;

/// <summary>The kinds of entry a list result holds.</summary>
public enum ListedKind
{
    /// <summary><c>tools/list</c>: <c>result.tools[].name</c>.</summary>
    Tool,

    /// <summary><c>prompts/list</c>: <c>result.prompts[].name</c>.</summary>
    Prompt,

    /// <summary><c>resources/list</c>: <c>result.resources[].uri</c>.</summary>
    Resource,

    /// <summary><c>resources/templates/list</c>: <c>result.resourceTemplates[].uriTemplate</c>.</summary>
    ResourceTemplate,
}

/// <summary>Removes hidden entries from list results, leaving everything else as the upstream sent it.</summary>
/// <remarks>
/// The shape of a result says what it lists (only <c>tools/list</c> answers with a <c>tools</c> array, and so on), so
/// single responses and 2025-03-26 batch answers are handled alike. Pagination stays correct without minting cursors:
/// each page loses only its own hidden entries and keeps the upstream's <c>nextCursor</c>, so a client that follows
/// cursors sees every visible entry exactly once (a page may come back shorter, or empty with a cursor, which the
/// protocol allows).
/// </remarks>
public static class ListResultFilter
{
    private static readonly (string Array, string Name, ListedKind Kind)[] Shapes =
    [
        ("tools", "name", ListedKind.Tool),
        ("prompts", "name", ListedKind.Prompt),
        ("resources", "uri", ListedKind.Resource),
        ("resourceTemplates", "uriTemplate", ListedKind.ResourceTemplate),
    ];

    /// <summary>True for the methods whose results may need filtering.</summary>
    public static bool IsListMethod(string? method) =>
        method is "tools/list" or "prompts/list" or "resources/list" or "resources/templates/list";

    /// <summary>
    /// Filters one JSON-RPC message (or batch). Returns null when nothing was hidden, so the caller relays the original
    /// bytes; errors, notifications and requests pass untouched.
    /// </summary>
    public static byte[]? Filter(ReadOnlySpan<byte> json, Func<ListedKind, string, bool> isHidden)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }

        var removed = false;
        if (root is JsonArray batch)
        {
            foreach (var member in batch)
            {
                removed |= RemoveHidden(member, isHidden);
            }
        }
        else
        {
            removed = RemoveHidden(root, isHidden);
        }

        return removed ? JsonSerializer.SerializeToUtf8Bytes(root) : null;
    }

    private static bool RemoveHidden(JsonNode? message, Func<ListedKind, string, bool> isHidden)
    {
        if (message is not JsonObject response || response["result"] is not JsonObject result)
        {
            return false;
        }

        var removed = false;
        foreach (var (arrayName, nameProperty, kind) in Shapes)
        {
            if (result[arrayName] is not JsonArray entries)
            {
                continue;
            }

            for (var i = entries.Count - 1; i >= 0; i--)
            {
                if (entries[i]?[nameProperty] is JsonValue value && value.TryGetValue<string>(out var name) && isHidden(kind, name))
                {
                    entries.RemoveAt(i);
                    removed = true;
                }
            }
        }

        return removed;
    }
}
