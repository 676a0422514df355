using System.Text;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Servers;
using Gatehouse.Core.Sessions;
using Gatehouse.Proxy.Bridging;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>
/// The 2024-11-05 HTTP+SSE transport toward clients: <c>GET /mcp/{server}/sse</c> opens the stream, whose first
/// event names Gatehouse's message endpoint; <c>POST /mcp/{server}/message?session=…</c> carries client messages.
/// </summary>
/// <remarks>
/// With an HTTP+SSE upstream, the upstream's message endpoint travels inside the sealed session ticket, so any replica
/// can take the POST and forward it; the answer comes back on the upstream's SSE stream, which the replica holding the
/// client's stream relays. With a Streamable HTTP upstream, <see cref="LegacyClientBridge"/> bridges the two inside the
/// replica that holds the client's stream.
/// </remarks>
public sealed class LegacySseEndpoint(
    Admission admission, UpstreamForwarder forwarder, SessionTicketProtector tickets, LegacyClientBridge bridge, PostPipeline pipeline,
    Gatehouse.Proxy.Streams.StreamHolds holds, IOptions<ProxyOptions> options, ILogger<LegacySseEndpoint> logger)
{
    /// <summary>The query parameter carrying the session ticket on the message endpoint.</summary>
    public const string SessionQueryParameter = "session";

    /// <summary>GET: opens the upstream's SSE stream and relays it, rewriting the endpoint event.</summary>
    public async Task OpenStreamAsync(HttpContext context, string server)
    {
        if (await admission.AdmitAsync(context, server) is not { } admitted)
        {
            return;
        }

        // The client's stream (and, bridged, its session) lasts as long as it reads: capped per principal, ended on revocation.
        using var hold = await holds.HoldGetStreamAsync(context, admitted);
        if (hold is null)
        {
            return;
        }

        if (admitted.Server.Transport == UpstreamTransport.StreamableHttp)
        {
            await bridge.OpenStreamAsync(context, admitted);
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, admitted.Server.Url);
        UpstreamHeaders.CopyRequestHeaders(context.Request, request, admitted.Server.ForwardIdentityHeaders);
        request.Headers.Accept.Clear();
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        var (response, error) = await forwarder.SendAsync(request, admitted.Server, context.RequestAborted, context.Features.Get<ProxyExchange>(), admitted.Principal);
        if (error is not null)
        {
            await admission.RejectAsync(context, server, error);
            return;
        }

        using (response)
        {
            if (!response!.IsSuccessStatusCode || !UpstreamForwarder.IsEventStream(response))
            {
                var classified = UpstreamForwarder.Classify(response, admitted.Server, expectsBody: true);
                if (classified is { Id: GatewayErrorId.UpstreamRejectedCredential })
                {
                    await admission.RejectAsync(context, server, classified);
                }
                else if (admitted.Server.Transport == UpstreamTransport.Auto && response.StatusCode is System.Net.HttpStatusCode.BadRequest
                             or System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.MethodNotAllowed or System.Net.HttpStatusCode.NotAcceptable)
                {
                    // No HTTP+SSE stream at the URL: a Streamable HTTP upstream, which the bridge serves.
                    await bridge.OpenStreamAsync(context, admitted);
                }
                else
                {
                    await admission.RejectAsync(context, server, GatewayErrors.TransportUnavailable(server,
                        $"its upstream answered HTTP {(int)response.StatusCode} instead of an HTTP+SSE stream."));
                }

                return;
            }

            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache, no-transform";
            await context.Response.StartAsync(context.RequestAborted);
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
                // Answers to this client's requests (list results among them) all arrive on this stream.
                var filter = PolicyEnforcer.ListFilter(admitted.Policy, server);
                // Comments (keep-alives) pass as they come; an event nobody changes passes as the upstream wrote it.
                using var reader = new SseRelayReader(stream, options.Value.MaxResponseBytes);
                while (await reader.ReadAsync(context.RequestAborted) is { } item)
                {
                    var bytes = item.Raw;
                    if (item.EventType == "endpoint")
                    {
                        if (RewriteEndpoint(Encoding.UTF8.GetString(item.Data.Span), admitted) is not { } rewritten)
                        {
                            ProxyLog.UpstreamBadResponse(logger, server, "endpoint event points outside the upstream's origin");
                            return;
                        }

                        bytes = rewritten;
                    }
                    else if (!item.IsComment && filter is not null && item.Data.Length > 0 && filter(item.Data) is { } filtered)
                    {
                        bytes = SseWriter.Format(item.EventType, Encoding.UTF8.GetString(filtered), item.EventId, item.Retry);
                    }

                    await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }

                if (reader.TooLarge)
                {
                    // The answers of this client's requests travel on this stream; which one was cut cannot be known.
                    ProxyLog.UpstreamBadResponse(logger, server, $"one SSE event grew past {options.Value.MaxResponseBytes} bytes; the stream was ended");
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                ProxyLog.StreamEnded(logger, server, "client disconnected");
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                ProxyLog.StreamEnded(logger, server, "upstream closed the stream: " + ex.GetType().Name);
            }
        }
    }

    /// <summary>POST: forwards one client message to the upstream's message endpoint named in the ticket.</summary>
    public async Task PostMessageAsync(HttpContext context, string server)
    {
        if (await admission.AdmitAsync(context, server) is not { } admitted)
        {
            return;
        }

        var sessionId = context.Request.Query[SessionQueryParameter].ToString();
        if (!tickets.TryOpen(sessionId, out var ticket) || ticket.ServerId != admitted.Server.Id || ticket.PrincipalId != admitted.Principal.Id
            || ticket.Kind is not (SessionKind.LegacySseEndpoint or SessionKind.Bridged))
        {
            await admission.RejectAsync(context, server, GatewayErrors.SessionNotFound());
            return;
        }

        Uri? upstreamEndpoint = null;
        if (ticket.Kind == SessionKind.LegacySseEndpoint
            && (!Uri.TryCreate(ticket.Upstream, UriKind.Absolute, out upstreamEndpoint) || !SameOrigin(upstreamEndpoint, admitted.Server.Url)))
        {
            await admission.RejectAsync(context, server, GatewayErrors.SessionNotFound());
            return;
        }

        await pipeline.RunAsync(context, admitted,
            read: ReadMessage,
            refuse: (c, _, refusal) => WriteRefusalAsync(c, ticket, refusal),
            forward: (envelope, body, decided) => ticket.Kind == SessionKind.Bridged
                ? bridge.PostMessageAsync(context, admitted, ticket, body, envelope, decided.Reservations)
                : ForwardMessageAsync(context, admitted, upstreamEndpoint!, body, envelope));
    }

    /// <summary>The 2024-11-05 era's envelope rules: one JSON-RPC message, no standard headers to check.</summary>
    private static (JsonRpcEnvelope? Envelope, GatewayError? Error) ReadMessage(BodyBuffer body) =>
        EnvelopeReader.TryRead(body.Memory.Span, out var envelope, out var problem) is var outcome && outcome == EnvelopeReader.Outcome.Ok
            ? (envelope, null)
            : (null, EnvelopeReader.ErrorFor(outcome, problem));

    private async Task WriteRefusalAsync(HttpContext context, SessionTicket ticket, byte[] refusal)
    {
        if (ticket.Kind == SessionKind.Bridged && bridge.TrySendToClient(ticket, refusal))
        {
            // The answer goes where HTTP+SSE answers go: on the client's stream; the POST is acknowledged.
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return;
        }

        // The upstream's stream cannot carry Gatehouse's answer, so the POST itself is refused with it.
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(refusal, context.RequestAborted);
    }

    private async Task<ForwardResult> ForwardMessageAsync(HttpContext context, AdmittedRequest admitted, Uri upstreamEndpoint, BodyBuffer body, JsonRpcEnvelope envelope)
    {
        var server = admitted.Server.Name;
        using var request = new HttpRequestMessage(HttpMethod.Post, upstreamEndpoint) { Content = body.ToContent() };
        UpstreamHeaders.CopyRequestHeaders(context.Request, request, admitted.Server.ForwardIdentityHeaders);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var sent = await forwarder.SendAsync(request, admitted.Server, context.RequestAborted, context.Features.Get<ProxyExchange>(), admitted.Principal);
        var (response, error) = sent;
        if (error is not null)
        {
            await admission.RejectAsync(context, server, error, envelope.RawId);
            return sent;
        }

        using (response)
        {
            var upstreamStatus = (int)response!.StatusCode;
            context.Features.Get<ProxyExchange>()?.UpstreamStatus = upstreamStatus;
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                await admission.RejectAsync(context, server, GatewayErrors.SessionNotFound(), envelope.RawId);
                return sent;
            }

            if (!response.IsSuccessStatusCode)
            {
                await admission.RejectAsync(context, server, UpstreamForwarder.Classify(response, admitted.Server, expectsBody: false)
                    ?? GatewayErrors.UpstreamBadResponse(server, $"HTTP {(int)response.StatusCode}"), envelope.RawId);
                return sent;
            }

            // The answer travels on the SSE stream; the POST itself is acknowledged (202 Accepted).
            context.Response.StatusCode = (int)response.StatusCode;
            UpstreamHeaders.CopyResponseHeaders(response, context.Response);
            await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }

        return sent;
    }

    private byte[]? RewriteEndpoint(string data, AdmittedRequest admitted)
    {
        if (!Uri.TryCreate(admitted.Server.Url, data.Trim(), out var upstreamEndpoint) || !SameOrigin(upstreamEndpoint, admitted.Server.Url))
        {
            // An endpoint on another origin would make Gatehouse send the server's credentials there.
            return null;
        }

        var ticket = tickets.Issue(SessionKind.LegacySseEndpoint, admitted.Server.Id, admitted.Principal.Id, upstreamEndpoint.AbsoluteUri);
        return SseWriter.Format("endpoint", $"/mcp/{admitted.Server.Name}/message?{SessionQueryParameter}={ticket}");
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
