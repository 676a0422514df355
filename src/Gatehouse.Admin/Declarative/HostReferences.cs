using System.Text.RegularExpressions;
using Gatehouse.Core.Errors;

namespace Gatehouse.Admin.Declarative;

/// <summary>
/// What an admin API body may not contain: references to the gateway's own host (<c>${NAME}</c>, file paths to read).
/// </summary>
/// <remarks>
/// An admin-token holder is not the gateway's operator: were the API to expand <c>${GATEHOUSE_MASTER_KEY}</c> in a
/// header or read <c>/proc/self/environ</c> as a key file, Gatehouse would send host secrets to a server of the caller's
/// choosing. Anything that looks like a reference is refused rather than stored literally, so a file written for
/// <c>gatehouse apply -f</c> (which expands on the operator's machine) never goes in half-working.
/// </remarks>
public static partial class HostReferences
{
    /// <summary>True when <paramref name="value"/> contains something shaped like <c>${...}</c>.</summary>
    public static bool Contains(string? value) => value is not null && AnyReference().IsMatch(value);

    /// <summary>The refusal of a <c>${...}</c> reference found at <paramref name="where"/>, as an admin API message starting with its code.</summary>
    public static string HostReferenceRefusal(string where) => Format(GatewayErrors.ApiBodyHostReference(where));

    /// <summary>The refusal of a file reference found at <paramref name="where"/>, as an admin API message starting with its code.</summary>
    public static string FileReferenceRefusal(string where) => Format(GatewayErrors.ApiBodyFileReference(where));

    private static string Format(GatewayError error) => $"{error.Code}: {error.Message}";

    [GeneratedRegex(@"\$\{[^}]*\}")]
    private static partial Regex AnyReference();
}
