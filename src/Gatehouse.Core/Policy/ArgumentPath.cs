using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Core.Policy;

/// <summary>How resolving an <see cref="ArgumentPath"/> against the call's arguments ended.</summary>
internal enum PathStatus
{
    /// <summary>The path leads to a value that is not JSON null.</summary>
    Found,

    /// <summary>A property is absent, an index is out of range, or the value (or a container on the way) is null.</summary>
    Missing,

    /// <summary>A step met a value of the wrong kind (a property of a non-object, an index into a non-array).</summary>
    WrongContainer,
}

/// <summary>
/// A dot-separated argument path with optional array indices (<c>customer.id</c>, <c>items[0].sku</c>), parsed once
/// at load time. Property names are kept as UTF-8 so lookups allocate nothing.
/// </summary>
internal sealed class ArgumentPath
{
    private readonly Step[] steps;

    private ArgumentPath(string text, Step[] steps)
    {
        Text = text;
        this.steps = steps;
    }

    /// <summary>The path as written in the policy; safe to show (it names, never quotes, an argument).</summary>
    public string Text { get; }

    /// <summary>Parses a path; on failure says what is wrong and shows the accepted form.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ArgumentPath? path, [NotNullWhen(false)] out string? problem)
    {
        path = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "The argument path is empty: name an argument, e.g. customer.id or items[0].sku.";
            return false;
        }

        var parsed = new List<Step>();
        var i = 0;
        while (true)
        {
            var start = i;
            while (i < text.Length && text[i] is not ('.' or '[' or ']'))
            {
                if (char.IsWhiteSpace(text[i]) || char.IsControl(text[i]))
                {
                    problem = $"The argument path '{text}' contains a space or control character at position {i + 1}; paths look like customer.id or items[0].sku.";
                    return false;
                }

                i++;
            }

            if (i == start)
            {
                problem = $"The argument path '{text}' has an empty name at position {i + 1}; paths look like customer.id or items[0].sku.";
                return false;
            }

            parsed.Add(new Step(Encoding.UTF8.GetBytes(text[start..i]), -1, text[..start].TrimEnd('.')));
            while (i < text.Length && text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                var digits = close < 0 ? string.Empty : text[(i + 1)..close];
                if (close < 0 || digits.Length == 0 || digits.Length > 9
                    || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    problem = $"The argument path '{text}' has a malformed index at position {i + 1}: write a number in brackets; paths look like customer.id or items[0].sku.";
                    return false;
                }

                parsed.Add(new Step(null, index, text[..i]));
                i = close + 1;
            }

            if (i == text.Length)
            {
                break;
            }

            if (text[i] != '.' || i == text.Length - 1)
            {
                problem = $"The argument path '{text}' has an unexpected '{text[i]}' at position {i + 1}; paths look like customer.id or items[0].sku.";
                return false;
            }

            i++;
        }

        path = new ArgumentPath(text, [.. parsed]);
        return true;
    }

    /// <summary>
    /// Follows the path. JSON null counts as absent anywhere on the way, because clients commonly send null for an
    /// optional argument they leave out.
    /// </summary>
    public PathStatus Resolve(JsonElement? arguments, out JsonElement value, out int failedStep)
    {
        value = default;
        failedStep = -1;
        if (arguments is not { } current || current.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return PathStatus.Missing;
        }

        for (var i = 0; i < steps.Length; i++)
        {
            ref readonly var step = ref steps[i];
            if (step.Name is not null)
            {
                if (current.ValueKind != JsonValueKind.Object)
                {
                    failedStep = i;
                    return PathStatus.WrongContainer;
                }

                if (!current.TryGetProperty(step.Name, out current))
                {
                    return PathStatus.Missing;
                }
            }
            else
            {
                if (current.ValueKind != JsonValueKind.Array)
                {
                    failedStep = i;
                    return PathStatus.WrongContainer;
                }

                if (step.Index >= current.GetArrayLength())
                {
                    return PathStatus.Missing;
                }

                current = current[step.Index];
            }

            if (current.ValueKind == JsonValueKind.Null)
            {
                return PathStatus.Missing;
            }
        }

        value = current;
        return PathStatus.Found;
    }

    /// <summary>For a <see cref="PathStatus.WrongContainer"/> result: the container's path (empty for the arguments themselves).</summary>
    public string ContainerText(int failedStep) => steps[failedStep].ContainerText;

    /// <summary>For a <see cref="PathStatus.WrongContainer"/> result: the kind the container must have.</summary>
    public string ContainerKind(int failedStep) => steps[failedStep].Name is null ? "an array" : "an object";

    /// <summary>Each container the path reads through (empty text: the arguments) and whether it must be an array.</summary>
    public IEnumerable<(string Container, bool IsArray)> Containers() => steps.Select(static s => (s.ContainerText, s.Name is null));

    /// <summary>True when <paramref name="other"/> is this path or lies inside it (so it cannot exist without it).</summary>
    public bool Contains(ArgumentPath other) =>
        other.Text.Length == Text.Length
            ? string.Equals(other.Text, Text, StringComparison.Ordinal)
            : other.Text.Length > Text.Length && other.Text.StartsWith(Text, StringComparison.Ordinal) && other.Text[Text.Length] is '.' or '[';

    /// <summary>One step: a property (UTF-8 name) or an array index, and the text of the container it reads from.</summary>
    private readonly record struct Step(byte[]? Name, int Index, string ContainerText);
}
