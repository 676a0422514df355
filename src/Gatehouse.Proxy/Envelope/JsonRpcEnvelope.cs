namespace Gatehouse.Proxy.Envelope;

/// <summary>What Gatehouse needs to know of a JSON-RPC message, read without materialising the body.</summary>
/// <param name="Kind">Request, notification or response.</param>
/// <param name="Method">The method, for requests and notifications.</param>
/// <param name="RawId">The id exactly as sent (JSON text), so errors can echo it; null when absent.</param>
/// <param name="Name"><c>params.name</c> (tools/call, prompts/get) or <c>params.uri</c> (resources/read).</param>
/// <param name="IsBatch">True for a JSON array of messages.</param>
/// <param name="BatchHasRequests">For a batch, whether any member expects a response.</param>
public sealed record JsonRpcEnvelope(JsonRpcKind Kind, string? Method, string? RawId, string? Name, bool IsBatch = false, bool BatchHasRequests = false)
{
    /// <summary>True when the message expects a response.</summary>
    public bool ExpectsResponse => IsBatch ? BatchHasRequests : Kind == JsonRpcKind.Request;

    /// <summary>Top-level keys of <c>params.arguments</c> (for the decision log; values are never kept here).</summary>
    public IReadOnlyList<string> ArgumentKeys { get; init; } = [];

    /// <summary>Where <c>params.arguments</c> lies in the body (offset, length), so policy can parse it only when needed.</summary>
    public (int Offset, int Length) ArgumentsRange { get; init; }

    /// <summary>Every member of a batch (for a single message, empty).</summary>
    public IReadOnlyList<JsonRpcEnvelope> Members { get; init; } = [];
}

/// <summary>The three kinds of JSON-RPC message.</summary>
public enum JsonRpcKind
{
    /// <summary>Has a method and an id.</summary>
    Request,

    /// <summary>Has a method and no id.</summary>
    Notification,

    /// <summary>Has an id and a result or error.</summary>
    Response,
}
