using Gatehouse.Core.Errors;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>What the forwarding step of the POST pipeline came to.</summary>
public enum ForwardKind
{
    /// <summary>The upstream answered; <see cref="ForwardResult.Response"/> holds it (or it was relayed already).</summary>
    Response,

    /// <summary>Gatehouse reports <see cref="ForwardResult.Error"/> instead of an upstream answer.</summary>
    Error,

    /// <summary>The person must connect their own upstream account first (the error holds the link).</summary>
    NeedsUserConnection,

    /// <summary>An auto-transport upstream refused Streamable HTTP: try its HTTP+SSE endpoint instead.</summary>
    FallBackToSse,

    /// <summary>The message was accepted for a background send, which settles its own quota charge.</summary>
    HandedOff,
}

/// <summary>The one result of forwarding a request: the answer or the error, and whether the request may have reached the upstream.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Response">The upstream's answer, for <see cref="ForwardKind.Response"/> before it is relayed.</param>
/// <param name="Error">The error to report, for <see cref="ForwardKind.Error"/> and <see cref="ForwardKind.NeedsUserConnection"/>.</param>
/// <param name="MayHaveReachedUpstream">
/// False only when the request provably never left Gatehouse: not one byte of its body was handed to an upstream
/// connection (refused connection, DNS failure, credential unavailable, refused before sending). Quotas are released
/// on false only; a timeout or a drop after sending, or a client that went away after the request went out, keeps the charge.
/// </param>
public readonly record struct ForwardResult(ForwardKind Kind, HttpResponseMessage? Response, GatewayError? Error, bool MayHaveReachedUpstream)
{
    /// <summary>An upstream answer (the request was certainly sent).</summary>
    public static ForwardResult Answered(HttpResponseMessage response) => new(ForwardKind.Response, response, null, true);

    /// <summary>An error, with whether the request may have been sent before it happened.</summary>
    public static ForwardResult Failed(GatewayError error, bool mayHaveReachedUpstream) => new(ForwardKind.Error, null, error, mayHaveReachedUpstream);

    /// <summary>The (response, error) pair, for callers that need no more.</summary>
    public void Deconstruct(out HttpResponseMessage? response, out GatewayError? error)
    {
        response = Response;
        error = Error;
    }
}
