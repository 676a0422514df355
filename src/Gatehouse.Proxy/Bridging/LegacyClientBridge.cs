using System.Text;
using System.Text.Json;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Sessions;
using Gatehouse.Proxy.Endpoints;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Errors;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Protocol;
using Gatehouse.Proxy.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Bridging;

/// <summary>
/// Serves 2024-11-05 HTTP+SSE clients from a Streamable HTTP upstream: each client message is POSTed upstream in the
/// background and whatever the upstream answers (JSON, or SSE events) is queued onto the client's one SSE stream.
/// </summary>
public sealed class LegacyClientBridge(
    Admission admission, UpstreamForwarder forwarder, SessionTicketProtector tickets, BridgeRegistry registry, TimeProvider time,
    IOptions<ProxyOptions> options, ILogger<LegacyClientBridge> logger, PolicyEnforcer policy)
{
    /// <summary>Opens the client's SSE stream and announces Gatehouse's message endpoint for a new bridged session.</summary>
    public async Task OpenStreamAsync(HttpContext context, AdmittedRequest admitted)
    {
        var session = new LegacyClientSession(BridgeRegistry.NewId(), admitted.Server, admitted.Principal.Id, time);
        registry.Add(session);
        try
        {
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache, no-transform";
            var ticket = tickets.Issue(SessionKind.Bridged, admitted.Server.Id, admitted.Principal.Id, session.Id);
            await context.Response.Body.WriteAsync(
                SseWriter.Format("endpoint", $"/mcp/{admitted.Server.Name}/message?{LegacySseEndpoint.SessionQueryParameter}={ticket}"), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await foreach (var message in session.Outbound.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.Body.WriteAsync(SseWriter.Format("message", message), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            ProxyLog.StreamEnded(logger, admitted.Server.Name, "client disconnected");
        }
        finally
        {
            await registry.RemoveAsync(session.Id);
            await EndUpstreamSessionAsync(session);
        }
    }

    /// <summary>Puts a message straight onto a bridged client's stream (a policy refusal); false when the session is gone.</summary>
    public bool TrySendToClient(SessionTicket ticket, byte[] message)
    {
        if (!registry.TryGet<LegacyClientSession>(ticket.Upstream, out var session))
        {
            return false;
        }

        session.Send(Encoding.UTF8.GetString(message));
        return true;
    }

    /// <summary>Accepts one client message (202) and forwards it upstream in the background.</summary>
    /// <remarks>
    /// The quota charge goes with the message: the background send gives <paramref name="reservations"/> back only when the
    /// message provably never left (the same rule as the POST pipeline), so the result is <see cref="ForwardKind.HandedOff"/>.
    /// </remarks>
    public async Task<ForwardResult> PostMessageAsync(
        HttpContext context, AdmittedRequest admitted, SessionTicket ticket, BodyBuffer body, JsonRpcEnvelope envelope, List<Gatehouse.Core.Policy.QuotaReservation>? reservations = null)
    {
        if (!registry.TryGet<LegacyClientSession>(ticket.Upstream, out var session))
        {
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.SessionNotFound(), envelope.RawId);
            return ForwardResult.Failed(GatewayErrors.SessionNotFound(), mayHaveReachedUpstream: false);
        }

        if (!session.TryBeginForward(options.Value.MaxBridgedMessagesInFlight))
        {
            // Each accepted message is a background send; a client may not pile up more than the limit of them.
            context.Response.Headers.RetryAfter = "1";
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.TooManyMessagesInFlight(options.Value.MaxBridgedMessagesInFlight), envelope.RawId);
            return ForwardResult.Failed(GatewayErrors.TooManyMessagesInFlight(options.Value.MaxBridgedMessagesInFlight), mayHaveReachedUpstream: false);
        }

        // The HTTP+SSE transport acknowledges at once and answers on the stream; the body outlives this request.
        var message = body.Memory.ToArray();
        session.Touch();
        session.ListFilter ??= PolicyEnforcer.ListFilter(admitted.Policy, admitted.Server.Name);
        _ = Task.Run(() => ForwardAsync(session, message, envelope, reservations), CancellationToken.None);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        await context.Response.WriteAsync("Accepted", context.RequestAborted);
        return new ForwardResult(ForwardKind.HandedOff, null, null, MayHaveReachedUpstream: false);
    }

    private async Task ForwardAsync(LegacyClientSession session, byte[] message, JsonRpcEnvelope envelope, List<Gatehouse.Core.Policy.QuotaReservation>? reservations)
    {
        var server = session.Server;
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url) { Content = new ByteArrayContent(message) };
        var pumpStandalone = false;
        try
        {
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            AddSessionHeaders(request, session);
            var (response, error) = await forwarder.SendAsync(request, server, session.Lifetime, principal: session.Principal);
            if (error is not null)
            {
                Fail(session, envelope, error);
                return;
            }

            using (response)
            {
                if (envelope.Method == "initialize" && response!.Headers.TryGetValues(McpProtocol.SessionIdHeader, out var ids))
                {
                    session.UpstreamSessionId = ids.FirstOrDefault();
                }

                if (!response!.IsSuccessStatusCode)
                {
                    Fail(session, envelope, response.StatusCode == System.Net.HttpStatusCode.NotFound
                        ? GatewayErrors.SessionNotFound()
                        : UpstreamForwarder.Classify(response, server, expectsBody: true) ?? GatewayErrors.UpstreamBadResponse(server.Name, $"HTTP {(int)response.StatusCode}"));
                    return;
                }

                await RelayAsync(session, response, envelope);
            }

            pumpStandalone = envelope.Method == "notifications/initialized" && session.TryClaimStandaloneStream();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            ProxyLog.StreamEnded(logger, server.Name, "bridged forwarding stopped: " + ex.GetType().Name);
        }
        finally
        {
            session.EndForward();

            // Quotas count every call that may have run; only one that provably never left is given back.
            if (!UpstreamForwarder.MayHaveReachedUpstream(request))
            {
                policy.Release(reservations);
            }
        }

        // The upstream's GET stream lives as long as the session; it is not a message in flight.
        if (pumpStandalone)
        {
            try
            {
                await PumpStandaloneStreamAsync(session);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                ProxyLog.StreamEnded(logger, server.Name, "bridged GET stream stopped: " + ex.GetType().Name);
            }
        }
    }

    private async Task RelayAsync(LegacyClientSession session, HttpResponseMessage response, JsonRpcEnvelope envelope)
    {
        if (UpstreamForwarder.IsEventStream(response))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(session.Lifetime);
            var tooLarge = false;
            await foreach (var item in SseRelayReader.EventsAsync(stream, options.Value.MaxResponseBytes, () => tooLarge = true, session.Lifetime))
            {
                if (item.Data.Length > 0)
                {
                    Deliver(session, item.Data, envelope);
                }
            }

            if (tooLarge)
            {
                ProxyLog.UpstreamBadResponse(logger, session.Server.Name, $"one SSE event grew past {options.Value.MaxResponseBytes} bytes; the stream was ended");
                Fail(session, envelope, GatewayErrors.UpstreamEventTooLarge(session.Server.Name, options.Value.MaxResponseBytes));
            }
        }
        else if (UpstreamForwarder.IsJson(response))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(session.Lifetime);
            using var body = await BodyBuffer.ReadAsync(stream, response.Content.Headers.ContentLength, options.Value.MaxResponseBytes, session.Lifetime);
            if (body is null)
            {
                Fail(session, envelope, GatewayErrors.UpstreamResponseTooLarge(session.Server.Name, options.Value.MaxResponseBytes));
                return;
            }

            Deliver(session, Encoding.UTF8.GetString(body.Memory.Span), envelope);
        }
        else if (envelope.ExpectsResponse)
        {
            Fail(session, envelope, GatewayErrors.UpstreamBadResponse(session.Server.Name, "no JSON-RPC answer to a request"));
        }
    }

    private static void Deliver(LegacyClientSession session, string message, JsonRpcEnvelope envelope)
    {
        if (envelope.Method == "initialize" && session.ProtocolVersion is null)
        {
            try
            {
                using var document = JsonDocument.Parse(message);
                if (document.RootElement.TryGetProperty("result", out var result) && result.TryGetProperty("protocolVersion", out var version))
                {
                    session.ProtocolVersion = version.GetString();
                }
            }
            catch (JsonException)
            {
            }
        }

        if (session.ListFilter?.Invoke(Encoding.UTF8.GetBytes(message)) is { } filtered)
        {
            message = Encoding.UTF8.GetString(filtered);
        }

        session.Send(message);
    }

    private async Task PumpStandaloneStreamAsync(LegacyClientSession session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, session.Server.Url);
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        AddSessionHeaders(request, session);
        var (response, error) = await forwarder.SendAsync(request, session.Server, session.Lifetime, principal: session.Principal);
        using (response)
        {
            // An upstream without a GET stream (405) simply has nothing unsolicited to say.
            if (error is null && response!.IsSuccessStatusCode && UpstreamForwarder.IsEventStream(response))
            {
                await RelayAsync(session, response, new JsonRpcEnvelope(JsonRpcKind.Notification, null, null, null));
            }
        }
    }

    private async Task EndUpstreamSessionAsync(LegacyClientSession session)
    {
        if (session.UpstreamSessionId is null)
        {
            return;
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, session.Server.Url);
            AddSessionHeaders(request, session);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var (response, _) = await forwarder.SendAsync(request, session.Server, cts.Token, principal: session.Principal);
            response?.Dispose();
        }
        catch (OperationCanceledException)
        {
            // Best effort: the upstream's own idle timeout ends the session otherwise.
        }
    }

    private static void AddSessionHeaders(HttpRequestMessage request, LegacyClientSession session)
    {
        request.Headers.TryAddWithoutValidation("Accept", "application/json, text/event-stream");
        if (session.UpstreamSessionId is { } sessionId)
        {
            request.Headers.TryAddWithoutValidation(McpProtocol.SessionIdHeader, sessionId);
        }

        if (session.ProtocolVersion is { } version)
        {
            request.Headers.TryAddWithoutValidation(McpProtocol.ProtocolVersionHeader, version);
        }
    }

    private static void Fail(LegacyClientSession session, JsonRpcEnvelope envelope, GatewayError error)
    {
        if (envelope.Kind == JsonRpcKind.Request)
        {
            session.Send(Encoding.UTF8.GetString(ErrorResponses.Body(error, envelope.RawId, session.Server.Name)));
        }
    }
}
