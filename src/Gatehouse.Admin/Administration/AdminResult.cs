namespace Gatehouse.Admin.Administration;

/// <summary>Why an admin operation was refused.</summary>
public enum AdminFailure
{
    /// <summary>Input is invalid.</summary>
    Invalid,

    /// <summary>The named object does not exist.</summary>
    NotFound,

    /// <summary>The object already exists or conflicts with another.</summary>
    Conflict,
}

/// <summary>The outcome of an admin operation: a value or a refusal with a message saying what to do.</summary>
public sealed record AdminResult<T>
{
    /// <summary>The value when the operation succeeded.</summary>
    public T? Value { get; private init; }

    /// <summary>Why it failed, when it did.</summary>
    public AdminFailure? Failure { get; private init; }

    /// <summary>The message for a failure.</summary>
    public string? Error { get; private init; }

    /// <summary>True when the operation succeeded.</summary>
    public bool Succeeded => Failure is null;

#pragma warning disable CA1000 // Factory methods on the generic result read best at the call site.
    /// <summary>A success.</summary>
    public static AdminResult<T> Ok(T value) => new() { Value = value };

    /// <summary>A refusal.</summary>
    public static AdminResult<T> Fail(AdminFailure failure, string error) => new() { Failure = failure, Error = error };
#pragma warning restore CA1000
}
