namespace Gatehouse.Storage.Decisions;

/// <summary>Longest stored lengths of decision fields.</summary>
/// <remarks>
/// Several fields come from the client's request (tool name, resource URI, method), so a client could otherwise make
/// every log row megabytes long; they are cut to these lengths when written.
/// </remarks>
internal static class DecisionLimits
{
    public const int RequestId = 64;
    public const int Principal = 128;
    public const int Method = 128;
    public const int Target = 2048;
    public const int Rule = 512;
    public const int Message = 1024;
    public const int ArgumentKeys = 4096;
    public const int ArgumentValues = 16 * 1024;

    public static string Cut(string value, int max) => value.Length <= max ? value : value[..max];

    public static string? CutOrNull(string? value, int max) => value is null ? null : Cut(value, max);
}
