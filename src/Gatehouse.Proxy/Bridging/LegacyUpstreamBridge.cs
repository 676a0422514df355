using System.Text;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Sessions;
using Gatehouse.Proxy.Endpoints;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Errors;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Protocol;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Bridging;

/// <summary>
/// Serves Streamable HTTP clients (2025-03-26 to 2025-11-25) from an upstream that speaks only HTTP+SSE (2024-11-05).
/// </summary>
/// <remarks>
/// <c>initialize</c> opens the upstream stream and a <see cref="LegacyUpstreamSession"/>; the client's session id is a
/// sealed ticket naming it. Each request is POSTed to the upstream's message endpoint and answered on an SSE response
/// that carries whatever the upstream sends for it (progress, logging, sampling requests) and then the response.
/// </remarks>
public sealed class LegacyUpstreamBridge(
    Admission admission, UpstreamForwarder forwarder, SessionTicketProtector tickets, BridgeRegistry registry, TimeProvider time, ILogger<LegacyUpstreamBridge> logger,
    Gatehouse.Proxy.Streams.StreamHolds holds, IOptions<ProxyOptions> options)
{
    private static readonly TimeSpan EndpointTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Handles a POST for a bridged server. <paramref name="ticket"/> is null for <c>initialize</c>.</summary>
    public async Task PostAsync(HttpContext context, AdmittedRequest admitted, JsonRpcEnvelope envelope, BodyBuffer body, SessionTicket? ticket)
    {
        var server = admitted.Server.Name;
        if (envelope.IsBatch)
        {
            await admission.RejectAsync(context, server, GatewayErrors.BatchNotAllowed("a bridged HTTP+SSE upstream"), envelope.RawId);
            return;
        }

        LegacyUpstreamSession? session;
        var opened = false;
        if (ticket is null)
        {
            if (envelope.Method != "initialize")
            {
                await admission.RejectAsync(context, server, GatewayErrors.MissingSession(), envelope.RawId);
                return;
            }

            // The bridged session holds the upstream's stream in this process: capped per principal, closed on revocation.
            var id = BridgeRegistry.NewId();
            var hold = await holds.HoldBridgedSessionAsync(context, admitted, () => _ = registry.RemoveAsync(id), envelope.RawId);
            if (hold is null)
            {
                return;
            }

            var (started, error) = await OpenAsync(context, admitted, id);
            if (error is not null)
            {
                hold.Dispose();
                await admission.RejectAsync(context, server, error, envelope.RawId);
                return;
            }

            _ = started!.Completion.ContinueWith(static (_, h) => ((Gatehouse.Proxy.Streams.OpenStream)h!).Dispose(), hold, TaskScheduler.Default);

            session = started!;
            opened = true;
        }
        else if (!registry.TryGet<LegacyUpstreamSession>(ticket.Upstream, out session))
        {
            await admission.RejectAsync(context, server, GatewayErrors.SessionNotFound(), envelope.RawId);
            return;
        }

        var answers = envelope.Kind == JsonRpcKind.Request ? session.BeginRequest(envelope.RawId!) : null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, session.MessageEndpoint) { Content = body.ToContent() };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            var (response, error) = await forwarder.SendAsync(request, admitted.Server, context.RequestAborted, context.Features.Get<ProxyExchange>(), admitted.Principal);
            using (response)
            {
                if (response is not null)
                {
                    context.Features.Get<ProxyExchange>()?.UpstreamStatus = (int)response.StatusCode;
                }

                error ??= response!.IsSuccessStatusCode ? null
                    : response.StatusCode == System.Net.HttpStatusCode.NotFound ? GatewayErrors.SessionNotFound()
                    : UpstreamForwarder.Classify(response, admitted.Server, expectsBody: false) ?? GatewayErrors.UpstreamBadResponse(server, $"HTTP {(int)response.StatusCode}");
            }

            if (error is not null)
            {
                if (opened)
                {
                    await registry.RemoveAsync(session.Id);
                }

                await admission.RejectAsync(context, server, error, envelope.RawId);
                return;
            }

            if (opened)
            {
                context.Response.Headers[McpProtocol.SessionIdHeader] = tickets.Issue(SessionKind.Bridged, admitted.Server.Id, admitted.Principal.Id, session.Id);
            }

            if (answers is null)
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                return;
            }

            await RelayAnswersAsync(context, answers, envelope, server, PolicyEnforcer.ListFilter(admitted.Policy, server, ListResultFilter.KindOf(envelope.Method), envelope.RawId));
        }
        finally
        {
            if (envelope.RawId is { } id && answers is not null)
            {
                session.EndRequest(id);
            }
        }
    }

    /// <summary>GET with a bridged session: the session's stream of messages that belong to no request.</summary>
    public async Task GetAsync(HttpContext context, AdmittedRequest admitted, SessionTicket ticket)
    {
        if (!registry.TryGet<LegacyUpstreamSession>(ticket.Upstream, out var session))
        {
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.SessionNotFound());
            return;
        }

        var messages = session.AttachStandalone();
        var filter = PolicyEnforcer.ListFilter(admitted.Policy, admitted.Server.Name);
        try
        {
            await StartEventStreamAsync(context);
            await foreach (var message in messages.ReadAllAsync(context.RequestAborted))
            {
                // Late answers (a list among them) come here too, so they are filtered like answers on a POST.
                await WriteEventAsync(context, filter?.Invoke(Encoding.UTF8.GetBytes(message)) is { } filtered ? Encoding.UTF8.GetString(filtered) : message);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            ProxyLog.StreamEnded(logger, admitted.Server.Name, "client disconnected");
        }
        finally
        {
            session.DetachStandalone(messages);
        }
    }

    /// <summary>DELETE with a bridged session: closes the upstream stream.</summary>
    public async Task DeleteAsync(HttpContext context, AdmittedRequest admitted, SessionTicket ticket)
    {
        if (!registry.TryGet<LegacyUpstreamSession>(ticket.Upstream, out _))
        {
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.SessionNotFound());
            return;
        }

        await registry.RemoveAsync(ticket.Upstream);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private async Task<(LegacyUpstreamSession? Session, GatewayError? Error)> OpenAsync(HttpContext context, AdmittedRequest admitted, string id)
    {
        var server = admitted.Server;
        var sseUrl = server.Url;
        using var request = new HttpRequestMessage(HttpMethod.Get, sseUrl);
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        var (response, error) = await forwarder.SendAsync(request, server, context.RequestAborted, principal: admitted.Principal);
        if (error is not null)
        {
            return (null, error);
        }

        if (!response!.IsSuccessStatusCode || !UpstreamForwarder.IsEventStream(response))
        {
            var classified = UpstreamForwarder.Classify(response, server, expectsBody: true);
            response.Dispose();
            return (null, classified is { Id: GatewayErrorId.UpstreamRejectedCredential }
                ? classified
                : GatewayErrors.UpstreamBadResponse(server.Name, $"HTTP {(int)response.StatusCode} instead of an HTTP+SSE stream at {sseUrl.AbsolutePath}"));
        }

        var (session, problem) = await LegacyUpstreamSession.StartAsync(
            id, server, admitted.Principal.Id, response, time, EndpointTimeout, options.Value.MaxResponseBytes,
            () => ProxyLog.UpstreamBadResponse(logger, server.Name, $"one SSE event grew past {options.Value.MaxResponseBytes} bytes; the bridged session was ended"),
            context.RequestAborted);
        if (session is null)
        {
            ProxyLog.UpstreamBadResponse(logger, server.Name, problem!);
            return (null, GatewayErrors.UpstreamBadResponse(server.Name, $"its HTTP+SSE stream misbehaved: {problem}"));
        }

        registry.Add(session);
        return (session, null);
    }

    private async Task RelayAnswersAsync(
        HttpContext context, System.Threading.Channels.ChannelReader<string> answers, JsonRpcEnvelope envelope, string server, Func<ReadOnlyMemory<byte>, byte[]?>? filter)
    {
        var sse = StreamableHttpEndpoint.AcceptsEventStream(context.Request);
        if (sse)
        {
            await StartEventStreamAsync(context);
        }

        try
        {
            await foreach (var received in answers.ReadAllAsync(context.RequestAborted))
            {
                var message = filter?.Invoke(Encoding.UTF8.GetBytes(received)) is { } filtered ? Encoding.UTF8.GetString(filtered) : received;
                var isAnswer = EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(message), out var m, out _) == EnvelopeReader.Outcome.Ok
                               && m.Kind == JsonRpcKind.Response && m.RawId == envelope.RawId;
                if (sse)
                {
                    await WriteEventAsync(context, message);
                }
                else if (isAnswer)
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(message, context.RequestAborted);
                }

                if (isAnswer)
                {
                    return;
                }
            }

            // The upstream stream ended before answering.
            var error = GatewayErrors.UpstreamUnreachable(server);
            if (sse)
            {
                await context.Response.Body.WriteAsync(ErrorResponses.AsSseEvent(error, envelope.RawId, server), context.RequestAborted);
            }
            else
            {
                await ErrorResponses.WriteAsync(context, error, envelope.RawId, server);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // Disconnecting is not cancelling in these protocol revisions; a late answer goes to the GET stream.
            ProxyLog.StreamEnded(logger, server, "client disconnected");
        }
    }

    private static async Task StartEventStreamAsync(HttpContext context)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache, no-transform";
        await context.Response.StartAsync(context.RequestAborted);

        // StartAsync only queues the headers; a GET stream may carry nothing for a long time, and the client waits for them.
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task WriteEventAsync(HttpContext context, string message)
    {
        await context.Response.Body.WriteAsync(SseWriter.Format("message", message), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
