using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.Core.Policy;

/// <summary>The comparison of one condition.</summary>
internal enum ConditionOperator
{
    Equals,
    NotEquals,
    In,
    NotIn,
    Lt,
    Lte,
    Gt,
    Gte,
    Matches,
    Prefix,
    Suffix,
    Contains,
    MaxLength,
    Present,
}

/// <summary>The kind of a scalar operand written in a policy.</summary>
internal enum ScalarKind
{
    String,
    Number,
    Boolean,
}

/// <summary>How evaluating one condition against one call ended.</summary>
internal enum ConditionOutcome
{
    Holds,
    Fails,
    Missing,
    Mismatch,
    TimedOut,
}

/// <summary>A scalar operand from the policy: a string, a number or a boolean.</summary>
internal readonly record struct Operand(ScalarKind Kind, string Text, double Number, bool Boolean)
{
    /// <summary>The operand's UTF-8 form, for allocation-free comparisons with raw JSON string contents.</summary>
    public byte[] Utf8 { get; init; } = [];
}

/// <summary>The result of one condition; for a mismatch, where and what was expected (never the value found).</summary>
internal readonly record struct ConditionResult(ConditionOutcome Outcome, int FailedStep = -1, string? Expected = null);

/// <summary>
/// One compiled argument condition (<c>{ arg: amount, gt: 1000 }</c>). Everything that can be checked is checked when
/// the policy is loaded, so evaluation only meets problems of the call itself: a missing argument, a value of the
/// wrong kind, or a regular expression that ran out of time.
/// </summary>
internal sealed class ArgumentCondition
{
    /// <summary>Below this many entries a linear scan with <see cref="JsonElement.ValueEquals(string)"/> beats hashing.</summary>
    private const int SetThreshold = 8;

    private readonly Operand operand;
    private readonly Operand[] list;
    private readonly FrozenSet<string>? stringSet;
    private readonly Regex? regex;

    public ArgumentCondition(string pointer, ArgumentPath path, ConditionOperator op, Operand operand, Operand[]? list = null, Regex? regex = null)
    {
        Pointer = pointer;
        Path = path;
        Operator = op;
        this.operand = operand;
        this.list = list ?? [];
        this.regex = regex;
        if (this.list.Length > SetThreshold && this.list[0].Kind == ScalarKind.String)
        {
            stringSet = this.list.Select(static o => o.Text).ToFrozenSet(StringComparer.Ordinal);
        }
    }

    /// <summary>JSON Pointer of the condition in its policy, reported as the rule that denied.</summary>
    public string Pointer { get; }

    /// <summary>The argument the condition reads.</summary>
    public ArgumentPath Path { get; }

    /// <summary>The comparison.</summary>
    public ConditionOperator Operator { get; }

    /// <summary>The kind of the values of an <c>in</c>/<c>not_in</c> list (all one kind).</summary>
    public ScalarKind ListKind => list.Length > 0 ? list[0].Kind : operand.Kind;

    /// <summary>The numeric operand, for messages (numbers are policy text, never argument values).</summary>
    public Operand Operand => operand;

    /// <summary>The operand kind(s) accepted, for mismatch messages.</summary>
    public string ExpectedKind => Operator switch
    {
        ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte => "a number",
        ConditionOperator.Matches or ConditionOperator.Prefix or ConditionOperator.Suffix => "a string",
        ConditionOperator.MaxLength => "a string or an array",
        ConditionOperator.Contains => operand.Kind == ScalarKind.String ? "a string or an array" : "an array",
        ConditionOperator.In or ConditionOperator.NotIn => KindText(list[0].Kind),
        _ => KindText(operand.Kind),
    };

    /// <summary>Evaluates the condition against the call's arguments. Never throws for anything the client sent.</summary>
    public ConditionResult Evaluate(JsonElement? arguments)
    {
        try
        {
            return EvaluateValue(arguments);
        }
        catch (InvalidOperationException)
        {
            // GetString on a string that is no Unicode text (a lone surrogate escape such as \uD800): not the kind the
            // rule expects, which fails closed like any mistyped argument.
            return Mismatch();
        }
    }

    private ConditionResult EvaluateValue(JsonElement? arguments)
    {
        var status = Path.Resolve(arguments, out var value, out var failedStep);
        if (status == PathStatus.WrongContainer)
        {
            return new ConditionResult(ConditionOutcome.Mismatch, failedStep);
        }

        if (Operator == ConditionOperator.Present)
        {
            return Result((status == PathStatus.Found) == operand.Boolean);
        }

        if (status == PathStatus.Missing)
        {
            return new ConditionResult(ConditionOutcome.Missing);
        }

        switch (Operator)
        {
            case ConditionOperator.Equals:
            case ConditionOperator.NotEquals:
                if (KindOf(value) != operand.Kind)
                {
                    return Mismatch();
                }

                return Result(ScalarEquals(value, operand) == (Operator == ConditionOperator.Equals));

            case ConditionOperator.In:
            case ConditionOperator.NotIn:
                if (KindOf(value) != list[0].Kind)
                {
                    return Mismatch();
                }

                return Result(IsInList(value) == (Operator == ConditionOperator.In));

            case ConditionOperator.Lt:
            case ConditionOperator.Lte:
            case ConditionOperator.Gt:
            case ConditionOperator.Gte:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
                {
                    return Mismatch();
                }

                return Result(Operator switch
                {
                    ConditionOperator.Lt => number < operand.Number,
                    ConditionOperator.Lte => number <= operand.Number,
                    ConditionOperator.Gt => number > operand.Number,
                    _ => number >= operand.Number,
                });

            case ConditionOperator.Matches:
                return value.ValueKind == JsonValueKind.String ? MatchRegex(value) : Mismatch();

            case ConditionOperator.Prefix:
            case ConditionOperator.Suffix:
                if (value.ValueKind != JsonValueKind.String)
                {
                    return Mismatch();
                }

                if (TryRawString(value, out var raw))
                {
                    return Result(Operator == ConditionOperator.Prefix ? raw.StartsWith(operand.Utf8) : raw.EndsWith(operand.Utf8));
                }

                var text = value.GetString()!;
                return Result(Operator == ConditionOperator.Prefix
                    ? text.StartsWith(operand.Text, StringComparison.Ordinal)
                    : text.EndsWith(operand.Text, StringComparison.Ordinal));

            case ConditionOperator.Contains:
                return EvaluateContains(value);

            case ConditionOperator.MaxLength:
                return value.ValueKind switch
                {
                    JsonValueKind.Array => Result(value.GetArrayLength() <= operand.Number),
                    JsonValueKind.String => Result(StringLength(value) <= operand.Number),
                    _ => Mismatch(),
                };

            default:
                return Mismatch();
        }
    }

    /// <summary>The kind of a JSON value as a scalar, or null for objects and arrays.</summary>
    internal static ScalarKind? KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => ScalarKind.String,
        JsonValueKind.Number => ScalarKind.Number,
        JsonValueKind.True or JsonValueKind.False => ScalarKind.Boolean,
        _ => null,
    };

    internal static string KindText(ScalarKind kind) => kind switch
    {
        ScalarKind.String => "a string",
        ScalarKind.Number => "a number",
        _ => "true or false",
    };

    private static ConditionResult Result(bool holds) => new(holds ? ConditionOutcome.Holds : ConditionOutcome.Fails);

    private ConditionResult Mismatch() => new(ConditionOutcome.Mismatch, -1, ExpectedKind);

    private static bool ScalarEquals(JsonElement value, in Operand expected) => expected.Kind switch
    {
        ScalarKind.String => value.ValueKind == JsonValueKind.String && value.ValueEquals(expected.Text),
        ScalarKind.Number => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var n) && n == expected.Number,
        _ => value.ValueKind is JsonValueKind.True or JsonValueKind.False && (value.ValueKind == JsonValueKind.True) == expected.Boolean,
    };

    private bool IsInList(JsonElement value)
    {
        if (stringSet is null)
        {
            foreach (ref readonly var entry in list.AsSpan())
            {
                if (ScalarEquals(value, entry))
                {
                    return true;
                }
            }

            return false;
        }

        if (TryRawString(value, out var raw))
        {
            return WithChars(raw, stringSet, static (chars, set) => set.GetAlternateLookup<ReadOnlySpan<char>>().Contains(chars));
        }

        return stringSet.Contains(value.GetString()!);
    }

    private ConditionResult EvaluateContains(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                if (ScalarEquals(item, operand))
                {
                    return Result(true);
                }
            }

            return Result(false);
        }

        if (value.ValueKind != JsonValueKind.String || operand.Kind != ScalarKind.String)
        {
            return Mismatch();
        }

        return TryRawString(value, out var raw)
            ? Result(raw.IndexOf(operand.Utf8) >= 0)
            : Result(value.GetString()!.Contains(operand.Text, StringComparison.Ordinal));
    }

    private ConditionResult MatchRegex(JsonElement value)
    {
        try
        {
            var matched = TryRawString(value, out var raw)
                ? WithChars(raw, regex!, static (chars, r) => r.IsMatch(chars))
                : regex!.IsMatch(value.GetString()!);
            return Result(matched);
        }
        catch (RegexMatchTimeoutException)
        {
            // A pathological value against a backtracking pattern: a per-call outcome, reported as a denial.
            return new ConditionResult(ConditionOutcome.TimedOut);
        }
    }

    /// <summary>Length in UTF-16 code units, as .NET's <see cref="string.Length"/> counts it.</summary>
    private static int StringLength(JsonElement value) =>
        TryRawString(value, out var raw) ? Encoding.UTF8.GetCharCount(raw) : value.GetString()!.Length;

    /// <summary>
    /// The UTF-8 contents of a JSON string without escapes, straight from the document: comparing these bytes
    /// ordinally gives the same answer as comparing the decoded strings, without allocating them.
    /// </summary>
    private static bool TryRawString(JsonElement value, out ReadOnlySpan<byte> contents)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length >= 2 && raw[0] == (byte)'"' && raw[^1] == (byte)'"' && raw.IndexOf((byte)'\\') < 0)
        {
            contents = raw[1..^1];
            return true;
        }

        contents = default;
        return false;
    }

    /// <summary>Decodes UTF-8 into a stack or pooled buffer and hands the characters to <paramref name="use"/>.</summary>
    private static bool WithChars<TState>(ReadOnlySpan<byte> utf8, TState state, Func<ReadOnlySpan<char>, TState, bool> use)
    {
        const int StackLimit = 256;
        char[]? rented = null;
        Span<char> buffer = utf8.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var count = Encoding.UTF8.GetChars(utf8, buffer);
            return use(buffer[..count], state);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Formats a number operand the way the policy would write it.</summary>
    internal static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
