using System.Threading.Channels;
using Gatehouse.Core.Servers;

namespace Gatehouse.Proxy.Bridging;

/// <summary>
/// One 2024-11-05 HTTP+SSE client session bridged to a Streamable HTTP upstream: the client's SSE stream lives in
/// this process, and every message the upstream sends for the session is queued onto it.
/// </summary>
public sealed class LegacyClientSession : IBridgedSession
{
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private long _lastActivityTicks;
    private int _standaloneStarted;

    /// <summary>Creates a session for a client stream that is about to open.</summary>
    public LegacyClientSession(string id, ServerDefinition server, string principalId, TimeProvider time)
    {
        Id = id;
        Server = server;
        PrincipalId = principalId;
        _time = time;
        Touch();
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <summary>The upstream server.</summary>
    public ServerDefinition Server { get; }

    /// <summary>The principal that opened the stream.</summary>
    public string PrincipalId { get; }

    /// <summary>The caller, for choosing a per-user server's upstream connection (only its id is known here).</summary>
    public Gatehouse.Proxy.Authentication.GatewayPrincipal Principal => new(PrincipalId, PrincipalId, null);

    /// <summary>Messages for the client's SSE stream, in the order the upstream produced them.</summary>
    public Channel<string> Outbound { get; } = BridgeLimits.NewMessageQueue();

    /// <summary>True when the session ended because the client did not read its stream and the queue filled.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Cancelled when the client's stream ends; background forwarding stops with it.</summary>
    public CancellationToken Lifetime => _lifetime.Token;

    /// <summary>The upstream's Mcp-Session-Id, once initialize has answered.</summary>
    public string? UpstreamSessionId { get; set; }

    /// <summary>Removes hidden entries from list results relayed to this client (null when no policy applies).</summary>
    public Func<ReadOnlyMemory<byte>, byte[]?>? ListFilter { get; set; }

    /// <summary>The protocol revision the upstream agreed to, sent as MCP-Protocol-Version afterwards.</summary>
    public string? ProtocolVersion { get; set; }

    /// <inheritdoc />
    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

    /// <inheritdoc />
    public Task Completion => _completion.Task;

    /// <summary>True the first time only: the upstream's GET stream is opened once per session.</summary>
    public bool TryClaimStandaloneStream() => Interlocked.Exchange(ref _standaloneStarted, 1) == 0;

    /// <summary>Queues a message for the client; a client whose queue is full (it stopped reading) loses the session instead.</summary>
    public void Send(string message)
    {
        Touch();
        if (!Outbound.Writer.TryWrite(message) && !Outbound.Reader.Completion.IsCompleted)
        {
            // Never held without bound, never dropped silently: the stream ends and the client connects again.
            Overflowed = true;
            _ = DisposeAsync().AsTask();
        }
    }

    private int _inFlight;

    /// <summary>Counts a message accepted for a background send; false (nothing counted) when <paramref name="limit"/> are in flight.</summary>
    public bool TryBeginForward(int limit)
    {
        if (Interlocked.Increment(ref _inFlight) > limit)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        return true;
    }

    /// <summary>Ends a background send counted by <see cref="TryBeginForward"/>.</summary>
    public void EndForward() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Notes activity, which keeps the session from idle expiry.</summary>
    public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, _time.GetUtcNow().UtcTicks);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Outbound.Writer.TryComplete();
        await _lifetime.CancelAsync();
        _completion.TrySetResult();
    }
}
