using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using Gatehouse.Proxy.Sse;
using System.Text;
using System.Threading.Channels;
using Gatehouse.Core.Servers;
using Gatehouse.Proxy.Envelope;

namespace Gatehouse.Proxy.Bridging;

/// <summary>
/// One client session bridged from Streamable HTTP to an upstream that speaks only the 2024-11-05 HTTP+SSE transport:
/// Gatehouse holds the upstream's SSE stream and routes each message it carries to the client request it answers.
/// </summary>
/// <remarks>
/// Routing: a response goes to the POST that sent its id; any other message (a progress or logging notification, a
/// sampling or elicitation request) goes to the newest POST still waiting, which is the call it almost always belongs
/// to, else to the session's GET stream, else into a bounded backlog that the next GET stream drains. Ids need no
/// remapping: one upstream connection serves exactly one client session.
/// </remarks>
public sealed class LegacyUpstreamSession : IBridgedSession
{
    private const int BacklogLimit = 1000;
    private readonly HttpResponseMessage _stream;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<string, Channel<string>> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _backlog = new();
    private readonly Lock _sinkLock = new();
    private readonly List<Channel<string>> _waiting = [];
    private Channel<string>? _standalone;
    private Task _readLoop = Task.CompletedTask;
    private long _lastActivityTicks;

    private LegacyUpstreamSession(string id, ServerDefinition server, string principalId, HttpResponseMessage stream, TimeProvider time)
    {
        Id = id;
        Server = server;
        PrincipalId = principalId;
        _stream = stream;
        Time = time;
        Touch();
    }

    /// <summary>The bridge id carried inside the client's session ticket.</summary>
    public string Id { get; }

    /// <summary>The server bridged to.</summary>
    public ServerDefinition Server { get; }

    /// <summary>The principal that opened the session.</summary>
    public string PrincipalId { get; }

    /// <summary>The upstream's message endpoint, announced by its first event.</summary>
    public Uri MessageEndpoint { get; private set; } = null!;

    /// <summary>Completes when the upstream stream ends.</summary>
    public Task Completion => _readLoop;

    /// <summary>When the session last carried a message either way.</summary>
    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

    private TimeProvider Time { get; }

    /// <summary>Reads the upstream stream's first event (the message endpoint) and starts routing the rest.</summary>
    /// <returns>The session, or null with the reason when the upstream did not behave as HTTP+SSE.</returns>
    public static async Task<(LegacyUpstreamSession? Session, string? Problem)> StartAsync(
        string id, ServerDefinition server, string principalId, HttpResponseMessage stream, TimeProvider time, TimeSpan endpointTimeout, long maxEventBytes, Action onTooLarge,
        CancellationToken cancellationToken)
    {
        var session = new LegacyUpstreamSession(id, server, principalId, stream, time);
        // Bounded per event: an upstream that never ends one ends the session instead of growing the gateway's memory.
        var events = SseRelayReader.EventsAsync(await stream.Content.ReadAsStreamAsync(cancellationToken), maxEventBytes, onTooLarge, session._lifetime.Token)
            .GetAsyncEnumerator(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(endpointTimeout);
        try
        {
            await using var registration = timeout.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), session._lifetime);
            if (!await events.MoveNextAsync() || events.Current.EventType != "endpoint")
            {
                await session.DisposeAsync();
                return (null, "its first event was not 'endpoint'");
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            await session.DisposeAsync();
            return (null, "it did not announce its message endpoint in time");
        }

        if (!Uri.TryCreate(server.Url, events.Current.Data.Trim(), out var endpoint)
            || endpoint.Scheme != server.Url.Scheme || !string.Equals(endpoint.IdnHost, server.Url.IdnHost, StringComparison.OrdinalIgnoreCase) || endpoint.Port != server.Url.Port)
        {
            // Credentials are injected on every POST there, so the endpoint must stay on the upstream's own origin.
            await session.DisposeAsync();
            return (null, "its message endpoint is on another origin");
        }

        session.MessageEndpoint = endpoint;
        session._readLoop = session.RouteAsync(events);
        return (session, null);
    }

    /// <summary>Registers a client request that waits for its response; messages for it arrive on the returned channel.</summary>
    public ChannelReader<string> BeginRequest(string rawId)
    {
        var channel = BridgeLimits.NewMessageQueue();
        _pending[rawId] = channel;
        lock (_sinkLock)
        {
            _waiting.Add(channel);
        }

        Touch();
        return channel.Reader;
    }

    /// <summary>Stops routing to a request (answered, or its client went away; a late answer then goes to the GET stream).</summary>
    public void EndRequest(string rawId)
    {
        if (_pending.TryRemove(rawId, out var channel))
        {
            lock (_sinkLock)
            {
                _waiting.Remove(channel);
            }

            channel.Writer.TryComplete();
        }
    }

    /// <summary>Attaches the client's GET stream; it first receives anything that had nowhere to go.</summary>
    public ChannelReader<string> AttachStandalone()
    {
        var channel = BridgeLimits.NewMessageQueue();
        lock (_sinkLock)
        {
            _standalone?.Writer.TryComplete();
            _standalone = channel;
            while (_backlog.TryDequeue(out var message))
            {
                channel.Writer.TryWrite(message);
            }
        }

        return channel.Reader;
    }

    /// <summary>Detaches a GET stream that ended.</summary>
    public void DetachStandalone(ChannelReader<string> reader)
    {
        lock (_sinkLock)
        {
            if (_standalone is not null && _standalone.Reader == reader)
            {
                _standalone = null;
            }
        }
    }

    /// <summary>Ends the session: closes the upstream stream and every waiting request.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync();
        _stream.Dispose();
        try
        {
            await _readLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _lifetime.Dispose();
    }

    private async Task RouteAsync(IAsyncEnumerator<SseItem<string>> events)
    {
        try
        {
            while (await events.MoveNextAsync())
            {
                if (events.Current.EventType is "message" or "" && events.Current.Data.Length > 0)
                {
                    Touch();
                    Route(events.Current.Data);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
        }
        finally
        {
            await events.DisposeAsync();
            // Nothing reads the upstream's stream any more (it ended, or an event grew past the limit): let its connection go.
            _stream.Dispose();
            lock (_sinkLock)
            {
                foreach (var channel in _pending.Values)
                {
                    channel.Writer.TryComplete();
                }

                _standalone?.Writer.TryComplete();
            }
        }
    }

    private void Route(string message)
    {
        var isResponse = EnvelopeReader.TryRead(Encoding.UTF8.GetBytes(message), out var envelope, out _) == EnvelopeReader.Outcome.Ok
                         && envelope.Kind == JsonRpcKind.Response;
        if (isResponse && envelope.RawId is { } id && _pending.TryGetValue(id, out var owner))
        {
            if (!owner.Writer.TryWrite(message))
            {
                Overflow();
            }

            EndRequest(id);
            return;
        }

        lock (_sinkLock)
        {
            var sink = _waiting.Count > 0 ? _waiting[^1] : _standalone;
            if (sink is not null)
            {
                if (!sink.Writer.TryWrite(message))
                {
                    Overflow();
                }

                return;
            }

            if (_backlog.Count < BacklogLimit)
            {
                _backlog.Enqueue(message);
            }
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastActivityTicks, Time.GetUtcNow().UtcTicks);

    /// <summary>True when the session ended because a client did not read what the upstream sent (its queue was full).</summary>
    public bool Overflowed { get; private set; }

    // A client that stops reading must not make the gateway hold the upstream's messages without bound, and dropping one
    // would lose it silently: the session ends instead (the client sees its streams close and initializes again).
    private void Overflow()
    {
        Overflowed = true;
        _lifetime.Cancel();
    }
}
