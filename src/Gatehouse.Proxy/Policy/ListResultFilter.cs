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

/// <summary>What became of one message that passed the list filter.</summary>
/// <param name="Replacement">The message to relay instead (filtered), or null to relay the original bytes.</param>
/// <param name="Problem">When set, the message could not be filtered and must not be relayed; says why.</param>
public readonly record struct ListFilterOutcome(byte[]? Replacement, string? Problem);

/// <summary>Removes hidden entries from list results, leaving everything else as the upstream sent it.</summary>
/// <remarks>
/// The shape of a result says what it lists (only <c>tools/list</c> answers with a <c>tools</c> array, and so on), so
/// single responses, 2025-03-26 batch answers and messages on GET or resumed streams (which have no request to go by)
/// are handled alike. Pagination stays correct without minting cursors: each page loses only its own hidden entries
/// and keeps the upstream's <c>nextCursor</c>, so a client that follows cursors sees every visible entry exactly once
/// (a page may come back shorter, or empty with a cursor, which the protocol allows).
/// Fails closed: a message that may hold a list and cannot be read (deeper than the envelope reader goes, a repeated
/// key, a key that differs only by case from <c>result</c>, a list name or an entry's name, a list that is not an array
/// of named entries, or not the list its method returns) is reported as a problem, never relayed unfiltered.
/// </remarks>
public static class ListResultFilter
{
    /// <summary>How deep a message may nest; the envelope reader's limit.</summary>
    public const int MaxDepth = 128;

    private static readonly (string Array, string Name, ListedKind Kind)[] Shapes =
    [
        ("tools", "name", ListedKind.Tool),
        ("prompts", "name", ListedKind.Prompt),
        ("resources", "uri", ListedKind.Resource),
        ("resourceTemplates", "uriTemplate", ListedKind.ResourceTemplate),
    ];

    /// <summary>True for the methods whose results may need filtering.</summary>
    public static bool IsListMethod(string? method) => KindOf(method) is not null;

    /// <summary>What a list method's result holds, or null for other methods.</summary>
    public static ListedKind? KindOf(string? method) => method switch
    {
        "tools/list" => ListedKind.Tool,
        "prompts/list" => ListedKind.Prompt,
        "resources/list" => ListedKind.Resource,
        "resources/templates/list" => ListedKind.ResourceTemplate,
        _ => null,
    };

    /// <summary>
    /// Cheap test, without allocating, of whether a message may hold a list result: a batch, a result object with a key
    /// that folds to a list's name, or anything that cannot be read. Only those pay for <see cref="Apply"/>.
    /// </summary>
    public static bool MayHoldList(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return true;
            }

            var inResult = false;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                if (reader.CurrentDepth == 1)
                {
                    inResult = FoldsTo(ref reader, "result");
                }
                else if (reader.CurrentDepth == 2 && inResult)
                {
                    foreach (var shape in Shapes)
                    {
                        if (FoldsTo(ref reader, shape.Array))
                        {
                            return true;
                        }
                    }
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary>Filters one message; see <see cref="ListFilterOutcome"/>.</summary>
    /// <param name="json">The message (or batch).</param>
    /// <param name="isHidden">Whether policy hides an entry.</param>
    /// <param name="expected">What the answered request lists, when known: its result must hold that list.</param>
    /// <param name="privateScope">Mark a result that lost entries <c>cacheScope: "private"</c> (2026-07-28 clients).</param>
    public static ListFilterOutcome Apply(ReadOnlySpan<byte> json, Func<ListedKind, string, bool> isHidden, ListedKind? expected = null, bool privateScope = false)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException)
        {
            return new ListFilterOutcome(null, "it is not JSON Gatehouse can read: too deep, or a key repeated");
        }

        var changed = false;
        string? problem;
        if (root is JsonArray batch)
        {
            foreach (var member in batch)
            {
                if ((problem = RemoveHidden(member, isHidden, null, privateScope, ref changed)) is not null)
                {
                    return new ListFilterOutcome(null, problem);
                }
            }
        }
        else if ((problem = RemoveHidden(root, isHidden, expected, privateScope, ref changed)) is not null)
        {
            return new ListFilterOutcome(null, problem);
        }

        return new ListFilterOutcome(changed ? JsonSerializer.SerializeToUtf8Bytes(root) : null, null);
    }

    private static string? RemoveHidden(JsonNode? message, Func<ListedKind, string, bool> isHidden, ListedKind? expected, bool privateScope, ref bool changed)
    {
        if (message is not JsonObject response)
        {
            return null;
        }

        if (CaseVariant(response, "result") is { } resultVariant)
        {
            return $"the key '{resultVariant}' differs only by case from 'result'";
        }

        if (!response.TryGetPropertyValue("result", out var resultNode))
        {
            return null;
        }

        if (resultNode is not JsonObject result)
        {
            return expected is null ? null : "its result is not an object";
        }

        var removed = false;
        foreach (var (arrayName, nameProperty, kind) in Shapes)
        {
            if (CaseVariant(result, arrayName) is { } listVariant)
            {
                return $"the key '{listVariant}' differs only by case from '{arrayName}'";
            }

            if (!result.TryGetPropertyValue(arrayName, out var listNode))
            {
                if (expected == kind)
                {
                    return $"it has no '{arrayName}' array";
                }

                continue;
            }

            if (listNode is not JsonArray entries)
            {
                return $"'{arrayName}' is not an array";
            }

            for (var i = entries.Count - 1; i >= 0; i--)
            {
                if (entries[i] is not JsonObject entry)
                {
                    return $"an entry of '{arrayName}' is not an object";
                }

                if (CaseVariant(entry, nameProperty) is { } nameVariant)
                {
                    return $"an entry of '{arrayName}' has the key '{nameVariant}', which differs only by case from '{nameProperty}'";
                }

                if (entry[nameProperty] is not JsonValue value || !value.TryGetValue<string>(out var name))
                {
                    return $"an entry of '{arrayName}' has no string '{nameProperty}'";
                }

                if (isHidden(kind, name))
                {
                    entries.RemoveAt(i);
                    removed = true;
                }
            }
        }

        if (removed && privateScope)
        {
            // The list now differs per principal, so no cache may share it (2026-07-28 caching).
            result["cacheScope"] = "private";
        }
        else if (result.TryGetPropertyValue("cacheScope", out var scope) && !(scope is JsonValue v && v.TryGetValue<string>(out var s) && s is "public" or "private"))
        {
            // An invalid value from the upstream is never passed on; "private" is the safe reading of it.
            result["cacheScope"] = "private";
            removed = true;
        }

        changed |= removed;
        return null;
    }

    private static string? CaseVariant(JsonObject node, string key)
    {
        foreach (var (name, _) in node)
        {
            if (name.Length == key.Length && name != key && Folds(name, key))
            {
                return name;
            }
        }

        return null;
    }

    private static bool Folds(string name, string key)
    {
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i] switch { '\u017F' => 's', '\u212A' => 'k', var other => char.ToLowerInvariant(other) };
            if (c != char.ToLowerInvariant(key[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool FoldsTo(ref Utf8JsonReader reader, string key)
    {
        var span = reader.ValueSpan;
        if (!reader.ValueIsEscaped && span.IndexOfAnyExceptInRange((byte)0, (byte)0x7F) < 0)
        {
            if (span.Length != key.Length)
            {
                return false;
            }

            for (var i = 0; i < span.Length; i++)
            {
                if ((span[i] | 0x20) != (key[i] | 0x20))
                {
                    return false;
                }
            }

            return true;
        }

        // Escaped or non-ASCII keys are rare: compare them the careful way.
        if (span.Length > 4 * 64)
        {
            return false;
        }

        var name = reader.GetString()!;
        return name.Length == key.Length && Folds(name, key);
    }
}
