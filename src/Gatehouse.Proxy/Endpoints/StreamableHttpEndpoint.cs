using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Bridging;
using Gatehouse.Core.Servers;
using Gatehouse.Core.Sessions;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Errors;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Protocol;
using Gatehouse.Proxy.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>
/// <c>/mcp/{server}</c> for Streamable HTTP (2025-03-26 to 2026-07-28): POST, GET streams and DELETE, with Gatehouse's
/// own session ids standing for the upstream's.
/// </summary>
public sealed class StreamableHttpEndpoint(
    Admission admission, UpstreamForwarder forwarder, SessionTicketProtector tickets, LegacySseEndpoint legacy, LegacyUpstreamBridge bridge,
    PostPipeline pipeline, Gatehouse.Proxy.Streams.StreamHolds holds)
{
    /// <summary>POST: one JSON-RPC message (or a 2025-03-26 batch).</summary>
    public async Task PostAsync(HttpContext context, string server)
    {
        if (await admission.AdmitAsync(context, server) is not { } admitted)
        {
            return;
        }

        if (!IsJsonContent(context.Request))
        {
            await admission.RejectAsync(context, server, GatewayErrors.UnsupportedMediaType());
            return;
        }

        var stateless = false;
        SessionTicket? ticket = null;
        await pipeline.RunAsync(context, admitted,
            read: body =>
            {
                var (envelope, version, envelopeError) = ReadMessage(context.Request, body);
                if (envelopeError is not null)
                {
                    return (envelope, envelopeError);
                }

                stateless = IsStatelessEra(version);
                return !stateless && !TryOpenSession(context.Request, admitted, out ticket) ? (envelope, GatewayErrors.SessionNotFound()) : (envelope, null);
            },
            refuse: (c, _, refusal) => WriteRefusalAsync(c, refusal),
            forward: (envelope, body, _) => ForwardPostAsync(context, admitted, envelope, body, ticket, stateless));
    }

    private async Task<ForwardResult> ForwardPostAsync(HttpContext context, AdmittedRequest admitted, JsonRpcEnvelope envelope, BodyBuffer body, SessionTicket? ticket, bool stateless)
    {
        if (admitted.Server.Transport == UpstreamTransport.Sse || ticket?.Kind == SessionKind.Bridged)
        {
            await PostToLegacyUpstreamAsync(context, admitted, envelope, body, ticket, stateless);
            return default;
        }

        // A 2026-07-28 retry after Gatehouse's own connect round carries state the upstream never issued.
        var content = stateless && UrlElicitation.WithoutGatehouseRound(body.Memory.Span) is { } stripped ? new ByteArrayContent(stripped) : body.ToContent();
        using var request = new HttpRequestMessage(HttpMethod.Post, admitted.Server.Url) { Content = content };
        var result = await ForwardAsync(context, admitted, request, ticket, envelope, expectsBody: envelope.ExpectsResponse, body);
        if (result.Kind == ForwardKind.FallBackToSse)
        {
            // Auto transport: the upstream refused Streamable HTTP, the spec's signal of an HTTP+SSE-only server.
            await PostToLegacyUpstreamAsync(context, admitted, envelope, body, ticket, stateless);
        }

        return result;
    }

    /// <summary>Writes a policy refusal: an ordinary JSON-RPC error in a 200 response, as an upstream's own would be.</summary>
    internal static async Task WriteRefusalAsync(HttpContext context, byte[] refusal)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = refusal.Length;
        await context.Response.Body.WriteAsync(refusal, context.RequestAborted);
    }

    private async Task PostToLegacyUpstreamAsync(HttpContext context, AdmittedRequest admitted, JsonRpcEnvelope envelope, BodyBuffer body, SessionTicket? ticket, bool stateless)
    {
        if (stateless)
        {
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.TransportUnavailable(admitted.Server.Name,
                "its upstream speaks only the 2024-11-05 HTTP+SSE transport, which needs a session; connect with protocol revision 2025-11-25 " +
                $"or earlier (initialize first), or with an HTTP+SSE client to /mcp/{admitted.Server.Name}/sse."), envelope.RawId);
            return;
        }

        if (ticket is not null && ticket.Kind != SessionKind.Bridged)
        {
            await admission.RejectAsync(context, admitted.Server.Name, GatewayErrors.SessionNotFound(), envelope.RawId);
            return;
        }

        await bridge.PostAsync(context, admitted, envelope, body, ticket);
    }

    /// <summary>GET: the session's server-to-client stream (or, without a session, an HTTP+SSE client).</summary>
    public async Task GetAsync(HttpContext context, string server)
    {
        var version = context.Request.Headers[McpProtocol.ProtocolVersionHeader].ToString();
        var hasSession = context.Request.Headers.ContainsKey(McpProtocol.SessionIdHeader);
        if (!hasSession && version.Length == 0 && AcceptsEventStream(context.Request))
        {
            // A 2024-11-05 client opens its SSE stream with a plain GET on the URL it was given.
            await legacy.OpenStreamAsync(context, server);
            return;
        }

        if (await admission.AdmitAsync(context, server) is not { } admitted)
        {
            return;
        }

        if (version.Length > 0 && IsStatelessEra(version))
        {
            context.Response.Headers.Allow = "POST";
            await admission.RejectAsync(context, server, GatewayErrors.MethodNotAllowed("GET", "protocol revision 2026-07-28 has no GET stream; send requests with POST."));
            return;
        }

        // A GET stream runs for as long as the client reads it: capped per principal, and ended if the principal loses access.
        using var hold = await holds.HoldGetStreamAsync(context, admitted);
        if (hold is null)
        {
            return;
        }

        await ForwardSessionRequestAsync(context, admitted, HttpMethod.Get);
    }

    /// <summary>DELETE: ends the session upstream.</summary>
    public async Task DeleteAsync(HttpContext context, string server)
    {
        if (await admission.AdmitAsync(context, server) is not { } admitted)
        {
            return;
        }

        var version = context.Request.Headers[McpProtocol.ProtocolVersionHeader].ToString();
        if (version.Length > 0 && IsStatelessEra(version))
        {
            context.Response.Headers.Allow = "POST";
            await admission.RejectAsync(context, server, GatewayErrors.MethodNotAllowed("DELETE", "protocol revision 2026-07-28 has no sessions to end."));
            return;
        }

        await ForwardSessionRequestAsync(context, admitted, HttpMethod.Delete);
    }

    private async Task ForwardSessionRequestAsync(HttpContext context, AdmittedRequest admitted, HttpMethod method)
    {
        var server = admitted.Server.Name;
        if (context.Request.Headers[McpProtocol.SessionIdHeader].ToString().Length == 0)
        {
            await admission.RejectAsync(context, server, GatewayErrors.MissingSession());
            return;
        }

        if (!TryOpenSession(context.Request, admitted, out var ticket))
        {
            await admission.RejectAsync(context, server, GatewayErrors.SessionNotFound());
            return;
        }

        if (ticket!.Kind == SessionKind.Bridged)
        {
            await (method == HttpMethod.Get ? bridge.GetAsync(context, admitted, ticket) : bridge.DeleteAsync(context, admitted, ticket));
            return;
        }

        using var request = new HttpRequestMessage(method, admitted.Server.Url);
        await ForwardAsync(context, admitted, request, ticket, envelope: null, expectsBody: false);
    }

    /// <returns>
    /// The forwarder's result, already relayed or reported; <see cref="ForwardKind.FallBackToSse"/> when the upstream refused
    /// Streamable HTTP on an auto-transport initialize and nothing was written yet.
    /// </returns>
    private async Task<ForwardResult> ForwardAsync(
        HttpContext context, AdmittedRequest admitted, HttpRequestMessage request, SessionTicket? ticket, JsonRpcEnvelope? envelope, bool expectsBody, BodyBuffer? body = null)
    {
        var server = admitted.Server;
        UpstreamHeaders.CopyRequestHeaders(context.Request, request, server.ForwardIdentityHeaders);
        if (ticket is not null)
        {
            request.Headers.TryAddWithoutValidation(McpProtocol.SessionIdHeader, ticket.Upstream);
        }

        var sent = await forwarder.SendAsync(request, server, context.RequestAborted, context.Features.Get<ProxyExchange>(), admitted.Principal);
        var (response, error) = sent;
        if (sent.Kind == ForwardKind.NeedsUserConnection && error is not null && envelope?.RawId is { } id && body is not null)
        {
            // The user's own connection is missing: a client that declared URL elicitation shows the person Gatehouse's
            // connect page and retries (2025-11-25 declares it at initialize, 2026-07-28 on every request). Others get
            // the plain error, whose message holds the link.
            var stateless = IsStatelessEra(context.Request.Headers[McpProtocol.ProtocolVersionHeader].ToString());
            if (stateless ? UrlElicitation.DeclaredInMeta(body.Memory.Span) : UrlElicitation.DeclaredBy(body.Memory.Span))
            {
                await admission.RejectWithUrlElicitationAsync(context, server.Name, error, id, inputRequired: stateless);
                return sent;
            }
        }

        if (error is not null)
        {
            await admission.RejectAsync(context, server.Name, error, envelope?.RawId);
            return sent;
        }

        using (response)
        {
            var upstreamStatus = (int)response!.StatusCode;
            context.Features.Get<ProxyExchange>()?.UpstreamStatus = upstreamStatus;
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound && ticket is not null && !UpstreamForwarder.IsJson(response))
            {
                // The upstream ended or forgot the session: the client must initialize again, as the spec says for 404.
                await admission.RejectAsync(context, server.Name, GatewayErrors.SessionNotFound(), envelope?.RawId);
                return sent;
            }

            if (response.StatusCode == System.Net.HttpStatusCode.MethodNotAllowed && envelope is null)
            {
                // An upstream without a GET stream (or DELETE): the spec's answer is 405, relayed as such.
                context.Response.Headers.Allow = response.Content.Headers.Allow.Count > 0 ? string.Join(", ", response.Content.Headers.Allow) : "POST";
                await admission.RejectAsync(context, server.Name, GatewayErrors.MethodNotAllowed(request.Method.Method, $"the upstream of server '{server.Name}' does not offer it."));
                return sent;
            }

            if (server.Transport == UpstreamTransport.Auto && envelope?.Method == "initialize" && ticket is null
                && response.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.MethodNotAllowed or System.Net.HttpStatusCode.BadRequest
                && !UpstreamForwarder.IsJson(response))
            {
                // The spec's fallback signal: an upstream that refuses POST with 400/404/405 speaks only HTTP+SSE.
                return sent with { Kind = ForwardKind.FallBackToSse };
            }

            if (UpstreamForwarder.Classify(response, server, expectsBody) is { } bad)
            {
                await admission.RejectAsync(context, server.Name, bad, envelope?.RawId);
                return sent;
            }

            context.Response.StatusCode = (int)response.StatusCode;
            UpstreamHeaders.CopyResponseHeaders(response, context.Response);
            if (response.Headers.TryGetValues(McpProtocol.SessionIdHeader, out var upstreamSessionIds) && upstreamSessionIds.FirstOrDefault() is { Length: > 0 } upstreamSessionId)
            {
                context.Response.Headers[McpProtocol.SessionIdHeader] = ticket is not null && ticket.Upstream == upstreamSessionId
                    ? context.Request.Headers[McpProtocol.SessionIdHeader].ToString()
                    : tickets.Issue(SessionKind.StreamableHttp, server.Id, admitted.Principal.Id, upstreamSessionId);
            }

            // Under a policy every answer is filtered: GET and resumed streams have no request to go by, and an upstream
            // may put a list on any stream. What cannot be filtered is withheld.
            var filter = PolicyEnforcer.ListFilter(admitted.Policy, server.Name, envelope is { IsBatch: false } ? ListResultFilter.KindOf(envelope.Method) : null,
                envelope?.RawId, IsStatelessEra(context.Request.Headers[McpProtocol.ProtocolVersionHeader].ToString()), context.Features.Get<ProxyExchange>());
            if (UpstreamForwarder.IsEventStream(response))
            {
                await forwarder.RelayStreamAsync(response, context, server, filter, envelope is { IsBatch: false, Kind: JsonRpcKind.Request } ? envelope.RawId : null);
            }
            else if (UpstreamForwarder.IsJson(response))
            {
                if (await forwarder.RelayJsonAsync(response, context, server, filter) is { } relayError)
                {
                    context.Response.Headers.Remove(McpProtocol.SessionIdHeader);
                    await admission.RejectAsync(context, server.Name, relayError, envelope?.RawId);
                }
            }
            else
            {
                context.Response.ContentLength = 0;
            }
        }

        return sent;
    }


    private bool TryOpenSession(HttpRequest request, AdmittedRequest admitted, out SessionTicket? ticket)
    {
        ticket = null;
        var sessionId = request.Headers[McpProtocol.SessionIdHeader].ToString();
        if (sessionId.Length == 0)
        {
            return true;
        }

        if (tickets.TryOpen(sessionId, out var opened) && opened.Kind is SessionKind.StreamableHttp or SessionKind.Bridged
            && opened.ServerId == admitted.Server.Id && opened.PrincipalId == admitted.Principal.Id)
        {
            ticket = opened;
            return true;
        }

        return false;
    }

    /// <summary>Reads the envelope and applies each era's rules on batches and standard headers.</summary>
    internal static (JsonRpcEnvelope? Envelope, string Version, GatewayError? Error) ReadMessage(HttpRequest request, BodyBuffer body)
    {
        var version = request.Headers[McpProtocol.ProtocolVersionHeader].ToString();
        if (version.Length == 0)
        {
            version = McpProtocol.DefaultVersion;
        }
        else if (!McpProtocol.IsWellFormedVersion(version))
        {
            return (null, version, GatewayErrors.InvalidProtocolVersion(version));
        }

        if (EnvelopeReader.TryRead(body.Memory.Span, out var envelope, out var problem) is var outcome && outcome != EnvelopeReader.Outcome.Ok)
        {
            return (null, version, EnvelopeReader.ErrorFor(outcome, problem));
        }

        if (envelope.IsBatch && !McpProtocol.AllowsBatches(version))
        {
            return (envelope, version, GatewayErrors.BatchNotAllowed(version));
        }

        if (McpProtocol.IsStatelessEra(version) && envelope.Method is not null)
        {
            var methodHeader = request.Headers[McpProtocol.MethodHeader].ToString();
            if (methodHeader != envelope.Method)
            {
                return (envelope, version, GatewayErrors.HeaderMismatch(McpProtocol.MethodHeader,
                    methodHeader.Length == 0 ? $"it is missing; send '{McpProtocol.MethodHeader}: {envelope.Method}'." : $"it says '{methodHeader}' but the body's method is '{envelope.Method}'."));
            }

            if (McpProtocol.RequiresNameHeader(envelope.Method))
            {
                var nameHeader = request.Headers[McpProtocol.NameHeader].ToString();
                if (!McpProtocol.TryDecodeHeaderValue(nameHeader, out var name) || name != envelope.Name)
                {
                    return (envelope, version, GatewayErrors.HeaderMismatch(McpProtocol.NameHeader,
                        nameHeader.Length == 0 ? $"it is missing for {envelope.Method}." : "it does not equal the name or URI in the body's params."));
                }
            }
        }

        return (envelope, version, null);
    }

    private static bool IsStatelessEra(string version) => McpProtocol.IsStatelessEra(version);

    private static bool IsJsonContent(HttpRequest request)
    {
        // The plain value is what clients send; it parses to itself, so answering it directly skips the parser's allocations.
        var contentType = request.ContentType;
        if (string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return MediaTypeHeaderValue.TryParse(contentType, out var type)
            && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.MediaType.Value!.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    internal static bool AcceptsEventStream(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
}
