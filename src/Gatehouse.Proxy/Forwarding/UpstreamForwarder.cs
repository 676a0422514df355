using System.Buffers;
using System.Net;
using System.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Security;
using Gatehouse.Core.Servers;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Sse;
using Gatehouse.Proxy.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>Sends one request upstream with the server's credentials and relays the answer, streaming SSE as it arrives.</summary>
public sealed class UpstreamForwarder(
    UpstreamClient client, ISecretProtector vault, IOptions<ProxyOptions> options, ILogger<UpstreamForwarder> logger,
    TimeProvider time, GatehouseTelemetry? telemetry = null, IUpstreamTokenSource? tokens = null, IUserConnectLinks? userLinks = null)
{
    /// <summary>Sends <paramref name="request"/> (credentials are added here). Returns the response, or the error to report, and whether the request may have reached the upstream.</summary>
    /// <remarks>
    /// The returned timeout source bounds only the wait for response headers; streams may then run indefinitely.
    /// The time until response headers is recorded as upstream latency, and on <paramref name="exchange"/> when given.
    /// For an OAuth upstream the token comes from <see cref="IUpstreamTokenSource"/> at this boundary: a 401 is answered by
    /// one renewal and one retry, a 403 <c>insufficient_scope</c> by a step-up where no person is needed, so an agent in
    /// the middle of a task never sees an expiry. A per-user server uses the connection of the user behind
    /// <paramref name="principal"/>; a missing one is reported with a link to Gatehouse's connect page bound to that user.
    /// </remarks>
    public async Task<ForwardResult> SendAsync(
        HttpRequestMessage request, ServerDefinition server, CancellationToken clientAborted, ProxyExchange? exchange = null, GatewayPrincipal? principal = null)
    {
        // HttpClient would throw on such a value mid-send, which used to read as an unreachable upstream (502).
        if (HeaderText.FirstUnsendable(request) is { } unsendable)
        {
            return ForwardResult.Failed(BadInputErrors.InvalidHeaderValue(unsendable), mayHaveReachedUpstream: false);
        }

        var delivery = DeliveryTrackingContent.Track(request, exchange);
        var (response, error) = await SendWithCredentialsAsync(request, server, clientAborted, exchange, principal);
        if (response is not null)
        {
            return ForwardResult.Answered(response);
        }

        // A request without a body (GET, DELETE) carries no call a quota could count.
        var mayHaveReached = delivery?.Started ?? false;
        return NeedsUserConnect(error!, server)
            ? new ForwardResult(ForwardKind.NeedsUserConnection, null, error, mayHaveReached)
            : ForwardResult.Failed(error!, mayHaveReached);
    }

    /// <summary>
    /// False only when <paramref name="request"/> (sent through <see cref="SendAsync"/>) provably never left: no byte of its
    /// body was written to an upstream connection. Callers use it where forwarding ended with an exception (the client went away).
    /// </summary>
    public static bool MayHaveReachedUpstream(HttpRequestMessage? request) => request?.Content is DeliveryTrackingContent { Started: true };

    private async Task<(HttpResponseMessage? Response, GatewayError? Error)> SendWithCredentialsAsync(
        HttpRequestMessage request, ServerDefinition server, CancellationToken clientAborted, ProxyExchange? exchange, GatewayPrincipal? principal)
    {
        if (server.AuthMode != UpstreamAuthMode.OAuth)
        {
            try
            {
                foreach (var header in server.Headers)
                {
                    request.Headers.Remove(header.Name);
                    request.Headers.TryAddWithoutValidation(header.Name, vault.Unprotect(header.ProtectedValue));
                }
            }
            catch (CryptographicException problem)
            {
                ProxyLog.SecretUnreadable(logger, server.Name);
                return (null, BadInputErrors.SealedValueUnreadable(server.Name, problem));
            }

            return await SendOnceAsync(request, server, clientAborted, exchange);
        }

        if (server.OAuth?.PerUser != true)
        {
            return await SendWithOAuthAsync(request, server, ConnectionOwner.Shared(server.Id), clientAborted, exchange);
        }

        // A grant token names no person, so there is no account to choose: refused rather than guessed.
        if (principal?.UserId is not { } userId)
        {
            return (null, GatewayErrors.PerUserServerNeedsUser(server.Name));
        }

        var (response, error) = await SendWithOAuthAsync(request, server, new ConnectionOwner(ConnectionOwnerKind.User, userId), clientAborted, exchange);
        if (error?.Id is GatewayErrorId.UpstreamNotConnected or GatewayErrorId.UpstreamNeedsReauth or GatewayErrorId.UpstreamConnectionRevoked
            && userLinks?.Create(server, userId) is { } link)
        {
            error = GatewayErrors.UpstreamUserNotConnected(server.Name, link, reauth: error.Id != GatewayErrorId.UpstreamNotConnected);
        }

        return (response, error);
    }

    /// <summary>True for the errors a person resolves by connecting their own account at the link the error holds.</summary>
    public static bool NeedsUserConnect(GatewayError error, ServerDefinition server) =>
        server.OAuth?.PerUser == true && error.ConnectUrl is not null
        && error.Id is GatewayErrorId.UpstreamNotConnected or GatewayErrorId.UpstreamNeedsReauth;

    private async Task<(HttpResponseMessage? Response, GatewayError? Error)> SendWithOAuthAsync(
        HttpRequestMessage request, ServerDefinition server, ConnectionOwner owner, CancellationToken clientAborted, ProxyExchange? exchange)
    {
        if (tokens is null)
        {
            return (null, GatewayErrors.UpstreamNotConnected(server.Name, "This Gatehouse process has no token vault configured.", null));
        }

        var current = await tokens.GetAsync(server, owner, clientAborted);
        if (current.Token is not { } token)
        {
            return (null, current.Error);
        }

        SetBearer(request, token);
        var (response, error) = await SendOnceAsync(request, server, clientAborted, exchange);
        if (response is null)
        {
            return (response, error);
        }

        UpstreamTokenResult? retryWith = null;
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            retryWith = await tokens.RenewAfterRejectionAsync(server, owner, token, clientAborted);
        }
        else if (response.StatusCode == HttpStatusCode.Forbidden && InsufficientScopeChallenge(response) is { } challenge)
        {
            retryWith = await tokens.StepUpAsync(server, owner, token, challenge, clientAborted);
        }

        if (retryWith is not { } renewed)
        {
            return (response, null);
        }

        response.Dispose();
        if (renewed.Token is not { } fresh)
        {
            return (null, renewed.Error);
        }

        // One retry only, with the renewed token: a second rejection is relayed (classified) as it is, never looped on.
        using var retry = CloneForRetry(request);
        SetBearer(retry, fresh);
        return await SendOnceAsync(retry, server, clientAborted, exchange);
    }

    private static void SetBearer(HttpRequestMessage request, UpstreamToken token)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token.Value);
    }

    /// <summary>The Bearer challenge of a 403 when it says <c>insufficient_scope</c> (RFC 6750 §3.1), else null.</summary>
    private static string? InsufficientScopeChallenge(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("WWW-Authenticate", out var values))
        {
            return null;
        }

        var joined = string.Join(", ", values);
        return joined.Contains("insufficient_scope", StringComparison.Ordinal) ? joined : null;
    }

    /// <summary>A copy of a request that was already sent; the buffered body content can be sent again.</summary>
    private static HttpRequestMessage CloneForRetry(HttpRequestMessage original)
    {
        var copy = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version, VersionPolicy = original.VersionPolicy, Content = original.Content };
        foreach (var (name, values) in original.Headers.NonValidated)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        return copy;
    }

    private async Task<(HttpResponseMessage? Response, GatewayError? Error)> SendOnceAsync(
        HttpRequestMessage request, ServerDefinition server, CancellationToken clientAborted, ProxyExchange? exchange)
    {
        var timeout = RentTimeoutSource();
        timeout.CancelAfter(options.Value.UpstreamTimeout);
        var clientRegistration = clientAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout);
        var started = time.GetTimestamp();
        int? status = null;
        try
        {
            var response = await client.Invoker.SendAsync(request, timeout.Token);
            status = (int)response.StatusCode;
            return (response, null);
        }
        catch (OperationCanceledException) when (clientAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            ProxyLog.UpstreamTimeout(logger, server.Name, options.Value.UpstreamTimeout.TotalSeconds);
            return (null, GatewayErrors.UpstreamTimeout(server.Name, options.Value.UpstreamTimeout));
        }
        catch (HttpRequestException ex)
        {
            ProxyLog.UpstreamUnreachable(logger, server.Name, ex.HttpRequestError.ToString());
            return (null, GatewayErrors.UpstreamUnreachable(server.Name));
        }
        finally
        {
            // Dispose waits for a running callback, so nothing can cancel the source once it is back in the cache.
            clientRegistration.Dispose();
            ReturnTimeoutSource(timeout);

            // A client that went away is not upstream latency; timeouts and refused connections are (status "none").
            if (!clientAborted.IsCancellationRequested)
            {
                var elapsed = time.GetElapsedTime(started);
                exchange?.UpstreamDuration = elapsed;
                telemetry?.RecordUpstream(server.Name, status, elapsed);
            }
        }
    }

    // A linked source with its own timer per request cost several allocations and a timer creation and deletion on
    // every forward. Instead each thread keeps one source: the client's abort is linked by a registration, and
    // TryReset (which stops the timer and succeeds only if the source never fired) makes it fit for the next request.
    // The token only bounds SendAsync, which has released it by the time it returns (streams are read with the
    // client's token), so nothing still holds it when it is reused.
    [ThreadStatic]
    private static CancellationTokenSource? t_timeoutSource;

    private static CancellationTokenSource RentTimeoutSource()
    {
        var source = t_timeoutSource;
        if (source is null)
        {
            return new CancellationTokenSource();
        }

        t_timeoutSource = null;
        return source;
    }

    private static void ReturnTimeoutSource(CancellationTokenSource source)
    {
        // The await may have resumed on another thread; any thread's empty slot will do.
        if (t_timeoutSource is null && source.TryReset())
        {
            t_timeoutSource = source;
        }
        else
        {
            source.Dispose();
        }
    }

    /// <summary>True for a media type of SSE.</summary>
    public static bool IsEventStream(HttpResponseMessage response) =>
        string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for a JSON media type.</summary>
    public static bool IsJson(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Maps an upstream answer Gatehouse must not relay to the error the client gets; null when it can be relayed.</summary>
    public static GatewayError? Classify(HttpResponseMessage response, ServerDefinition server, bool expectsBody)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden && !IsJson(response))
        {
            return GatewayErrors.UpstreamRejectedCredential(server.Name, status);
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized)
        {
            return GatewayErrors.UpstreamRejectedCredential(server.Name, status);
        }

        var hasBody = response.Content.Headers.ContentLength is not 0 && status is not 202 and not 204;
        if (IsJson(response) || IsEventStream(response) || !hasBody)
        {
            if (status >= 200 && status < 300 && expectsBody && !hasBody)
            {
                return GatewayErrors.UpstreamBadResponse(server.Name, $"HTTP {status} with an empty body to a request");
            }

            return null;
        }

        if (status >= 400 && status < 500 && status != 404)
        {
            // A client error with a non-JSON body (a plain-text 400, a 405 from a server without a GET stream):
            // relay the status, with an explanation in JSON-RPC form.
            return GatewayErrors.UpstreamBadResponse(server.Name, $"HTTP {status} {response.ReasonPhrase}") with { HttpStatus = status };
        }

        return GatewayErrors.UpstreamBadResponse(server.Name, $"HTTP {status} with content type '{response.Content.Headers.ContentType?.MediaType ?? "none"}'");
    }

    /// <summary>Relays an SSE body chunk by chunk, flushing each, so events reach the client as the upstream sends them.</summary>
    /// <param name="response">The upstream's SSE response.</param>
    /// <param name="context">The client's request.</param>
    /// <param name="server">The server, for logs.</param>
    /// <param name="transform">
    /// When given, each event's data passes through it (null keeps the event as it was); events are then parsed and
    /// written one by one. Without it the bytes are copied as they arrive, the fast path.
    /// </param>
    /// <param name="requestRawId">The id of the request the stream answers (a single POST), for an error when the stream is cut.</param>
    public async Task RelayStreamAsync(HttpResponseMessage response, HttpContext context, ServerDefinition server, Func<ReadOnlyMemory<byte>, byte[]?>? transform = null, string? requestRawId = null)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.Headers.CacheControl = "no-cache, no-transform";
        await context.Response.StartAsync(context.RequestAborted);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            if (transform is not null)
            {
                await RelayFilteredAsync(stream, context, server, transform, requestRawId);
                return;
            }

            int read;
            while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            ProxyLog.StreamEnded(logger, server.Name, "client disconnected");
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The upstream dropped the stream mid-way; end ours too so the client can resume with Last-Event-ID.
            ProxyLog.StreamEnded(logger, server.Name, "upstream closed the stream: " + ex.GetType().Name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The filtered relay: comments pass as they come, an event the filter leaves alone passes as the upstream wrote it,
    /// a replaced one is written anew; an event past the response limit ends the stream (logged), with a GH1341 error
    /// for the request first when the stream answers one.
    /// </summary>
    private async Task RelayFilteredAsync(Stream stream, HttpContext context, ServerDefinition server, Func<ReadOnlyMemory<byte>, byte[]?> transform, string? requestRawId)
    {
        using var reader = new SseRelayReader(stream, options.Value.MaxResponseBytes);
        while (await reader.ReadAsync(context.RequestAborted) is { } item)
        {
            var output = item.Raw;
            if (!item.IsComment && item.Data.Length > 0 && transform(item.Data) is { } replaced)
            {
                output = SseWriter.Format(item.EventType, Encoding.UTF8.GetString(replaced), item.EventId, item.Retry);
            }

            await context.Response.Body.WriteAsync(output, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        if (reader.TooLarge)
        {
            ProxyLog.UpstreamBadResponse(logger, server.Name, $"one SSE event grew past {options.Value.MaxResponseBytes} bytes; the stream was ended");
            if (requestRawId is not null)
            {
                await context.Response.Body.WriteAsync(Errors.ErrorResponses.AsSseEvent(GatewayErrors.UpstreamEventTooLarge(server.Name, options.Value.MaxResponseBytes), requestRawId, server.Name), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
    }

    /// <summary>Reads a JSON body (bounded), checks it is JSON, and writes it unchanged; or reports why it cannot.</summary>
    public async Task<GatewayError?> RelayJsonAsync(HttpResponseMessage response, HttpContext context, ServerDefinition server, Func<ReadOnlyMemory<byte>, byte[]?>? transform = null)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        BodyBuffer? body;
        try
        {
            body = await BodyBuffer.ReadAsync(stream, response.Content.Headers.ContentLength, options.Value.MaxResponseBytes, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            ProxyLog.UpstreamBadResponse(logger, server.Name, "connection dropped while reading the response");
            return GatewayErrors.UpstreamBadResponse(server.Name, "the connection dropped in the middle of the response");
        }

        if (body is null)
        {
            return GatewayErrors.UpstreamResponseTooLarge(server.Name, options.Value.MaxResponseBytes);
        }

        using (body)
        {
            if (JsonProblem(body.Memory.Span) is { } problem)
            {
                ProxyLog.UpstreamBadResponse(logger, server.Name, problem);
                return GatewayErrors.UpstreamBadResponse(server.Name, problem);
            }

            if (transform?.Invoke(body.Memory) is { } replaced)
            {
                context.Response.ContentLength = replaced.Length;
                await context.Response.Body.WriteAsync(replaced, context.RequestAborted);
                return null;
            }

            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body.Memory, context.RequestAborted);
            return null;
        }
    }

    /// <summary>How deep a relayed JSON answer may nest (System.Text.Json's default): a filter must be able to read all of it.</summary>
    private const int MaxResponseDepth = 64;

    /// <summary>Null when <paramref name="json"/> is one readable JSON document; otherwise what is wrong with it.</summary>
    private static string? JsonProblem(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxResponseDepth });
        try
        {
            while (reader.Read())
            {
            }

            return reader.BytesConsumed > 0 ? null : "the body is empty";
        }
        catch (JsonException)
        {
            return reader.CurrentDepth >= MaxResponseDepth - 1
                ? $"the body nests deeper than {MaxResponseDepth} levels, more than Gatehouse reads"
                : "the body is not valid JSON";
        }
    }
}
