using System.Net;
using Gatehouse.Proxy.Recording;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>
/// Wraps a request body and notes the moment the HTTP handler starts writing it to an upstream connection, which is
/// what "the request may have reached the upstream" means for quotas.
/// </summary>
/// <remarks>
/// An upstream cannot act on a request whose body it never received, so a body never serialised proves the request never
/// left (connection refused, DNS failure, a timeout while connecting). Once serialisation starts, any failure (timeout,
/// drop, the client going away) may have come after the upstream read the call, so the charge is kept.
/// </remarks>
internal sealed class DeliveryTrackingContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly ProxyExchange? _exchange;
    private volatile bool _started;

    public DeliveryTrackingContent(HttpContent inner, ProxyExchange? exchange)
    {
        _inner = inner;
        _exchange = exchange;
        foreach (var (name, values) in inner.Headers.NonValidated)
        {
            Headers.TryAddWithoutValidation(name, values);
        }
    }

    /// <summary>True once the handler began writing the body (it may have reached the upstream).</summary>
    public bool Started => _started;

    /// <summary>Wraps <paramref name="request"/>'s body once; returns the tracker (null for a request without a body).</summary>
    public static DeliveryTrackingContent? Track(HttpRequestMessage request, ProxyExchange? exchange)
    {
        if (request.Content is null or DeliveryTrackingContent)
        {
            return request.Content as DeliveryTrackingContent;
        }

        var tracked = new DeliveryTrackingContent(request.Content, exchange);
        request.Content = tracked;
        return tracked;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        MarkStarted();
        return _inner.CopyToAsync(stream, context, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        MarkStarted();
        _inner.CopyTo(stream, context, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        if (_inner.Headers.ContentLength is { } known)
        {
            length = known;
            return true;
        }

        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void MarkStarted()
    {
        _started = true;
        _exchange?.RequestMayHaveReachedUpstream = true;
    }
}
