using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Endpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Streams;

/// <summary>The request-path step that takes a per-principal hold for a stream or bridged session, or answers 429.</summary>
public sealed class StreamHolds(OpenStreamRegistry registry, Admission admission, IOptions<ProxyOptions> options)
{
    /// <summary>Seconds a client over its cap is told to wait before retrying.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>
    /// A hold for a GET stream of this request: ended (the connection aborted) if the principal loses access while it is open.
    /// Null when the principal is at its cap; the 429 is then written.
    /// </summary>
    public Task<OpenStream?> HoldGetStreamAsync(HttpContext context, AdmittedRequest admitted) =>
        HoldAsync(context, admitted, OpenStreamKind.GetStream, context.Abort);

    /// <summary>A hold for a bridged session; <paramref name="end"/> closes it when the principal loses access. Null (429 written) at the cap.</summary>
    public Task<OpenStream?> HoldBridgedSessionAsync(HttpContext context, AdmittedRequest admitted, Action end, string? rawId = null) =>
        HoldAsync(context, admitted, OpenStreamKind.BridgedSession, end, rawId);

    private async Task<OpenStream?> HoldAsync(HttpContext context, AdmittedRequest admitted, OpenStreamKind kind, Action end, string? rawId = null)
    {
        if (registry.TryOpen(admitted.Principal, admitted.Server.Name, kind, end) is { } held)
        {
            return held;
        }

        var error = kind == OpenStreamKind.GetStream
            ? GatewayErrors.TooManyOpenStreams(options.Value.MaxOpenStreamsPerPrincipal)
            : GatewayErrors.TooManyBridgedSessions(options.Value.MaxBridgedSessionsPerPrincipal);
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await admission.RejectAsync(context, admitted.Server.Name, error, rawId);
        return null;
    }
}
