namespace Gatehouse.Core.Decisions;

/// <summary>One request the gateway decided on: who asked, for what, what was decided and why, and how it went.</summary>
/// <remarks>
/// Argument values are absent unless the policy opts a tool in (<see cref="ArgumentValuesJson"/>), because tool
/// arguments routinely carry secrets and personal data; the keys alone usually tell an operator what was attempted.
/// </remarks>
/// <param name="At">When the request arrived.</param>
/// <param name="RequestId">The gateway's id of the HTTP request (ties a record to log lines).</param>
/// <param name="PrincipalId">Who asked, as a stable id such as <c>grant:&lt;guid-n&gt;</c>.</param>
/// <param name="PrincipalLabel">A human name for the principal (the grant label).</param>
/// <param name="Server">The server name from the URL.</param>
/// <param name="Method">The JSON-RPC method, or the HTTP method for GET and DELETE streams.</param>
/// <param name="Target">The tool name, resource URI or prompt name, when the method has one.</param>
/// <param name="Decision">One of <see cref="DecisionKinds"/>: allow, deny, hide or error.</param>
/// <param name="Rule">Which rule decided: a JSON pointer into the policy, or a marker such as <c>(no policy)</c>.</param>
/// <param name="PolicyVersion">The version of the policy that decided, when one applied.</param>
/// <param name="ArgumentKeys">The top-level keys of the call's arguments (never their values).</param>
/// <param name="ArgumentValuesJson">The arguments as JSON, only when the policy opts the tool in.</param>
/// <param name="UpstreamStatus">The upstream's HTTP status, when the request went upstream.</param>
/// <param name="LatencyMs">Time from arrival to the answer's headers, in milliseconds.</param>
/// <param name="ErrorCode">The gateway error code (e.g. <c>GH1501</c>) when the request failed.</param>
/// <param name="Message">A short human explanation (never a secret).</param>
public sealed record DecisionRecord(
    DateTimeOffset At,
    string RequestId,
    string PrincipalId,
    string PrincipalLabel,
    string Server,
    string Method,
    string? Target,
    string Decision,
    string? Rule,
    string? PolicyVersion,
    IReadOnlyList<string> ArgumentKeys,
    string? ArgumentValuesJson,
    int? UpstreamStatus,
    double LatencyMs,
    string? ErrorCode,
    string? Message);

/// <summary>The decision values a <see cref="DecisionRecord"/> may carry.</summary>
public static class DecisionKinds
{
    /// <summary>The request was forwarded.</summary>
    public const string Allow = "allow";

    /// <summary>The request was refused by policy.</summary>
    public const string Deny = "deny";

    /// <summary>An item was left out of a listing by policy.</summary>
    public const string Hide = "hide";

    /// <summary>The request failed before a policy decision or upstream (admission, upstream failure).</summary>
    public const string Error = "error";

    /// <summary>All values, for validating filters.</summary>
    public static IReadOnlyList<string> All { get; } = [Allow, Deny, Hide, Error];
}
