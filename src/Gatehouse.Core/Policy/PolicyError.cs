using System.Globalization;

namespace Gatehouse.Core.Policy;

/// <summary>One problem found in a policy document.</summary>
/// <param name="Path">JSON Pointer to the offending node, e.g. <c>/tools/create_charge/deny_if/0/gt</c>; empty for the whole document.</param>
/// <param name="Line">1-based line of the offending node in the document.</param>
/// <param name="Column">1-based column of the offending node.</param>
/// <param name="Message">What is wrong and what to do about it.</param>
public sealed record PolicyError(string Path, int Line, int Column, string Message)
{
    /// <summary>Formats the error as <c>line 3, column 5 (/tools/x): message</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"line {Line}, column {Column} ({(Path.Length == 0 ? "/" : Path)}): {Message}");
}

/// <summary>The result of <see cref="PolicyDocumentParser.Parse(string)"/>: a compiled policy, or every error found.</summary>
public sealed class PolicyParseResult
{
    internal PolicyParseResult(CompiledPolicy? policy, IReadOnlyList<PolicyError> errors)
    {
        Policy = policy;
        Errors = errors;
    }

    /// <summary>The compiled policy; null when <see cref="Errors"/> is not empty.</summary>
    public CompiledPolicy? Policy { get; }

    /// <summary>Every problem found, in document order; empty on success.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }

    /// <summary>True when the document is valid and <see cref="Policy"/> is set.</summary>
    public bool Succeeded => Policy is not null;
}
