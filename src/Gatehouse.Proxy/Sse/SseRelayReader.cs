using System.Buffers;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;

namespace Gatehouse.Proxy.Sse;

/// <summary>One piece of an upstream's SSE stream, as <see cref="SseRelayReader"/> hands it on.</summary>
/// <param name="IsComment">True for a comment line (<c>: keep-alive</c>), which is relayed as it comes.</param>
/// <param name="Raw">The piece as the upstream wrote it (lines ending in <c>\n</c>; an event ends with its blank line).</param>
/// <param name="Data">An event's data (its <c>data:</c> lines joined by <c>\n</c>); empty for a comment.</param>
/// <param name="EventType">The event's <c>event:</c> field, if it had one.</param>
/// <param name="EventId">The event's own <c>id:</c> field, if it had one.</param>
/// <param name="Retry">The event's <c>retry:</c> field, if it had a valid one.</param>
public readonly record struct SseRelayItem(bool IsComment, ReadOnlyMemory<byte> Raw, ReadOnlyMemory<byte> Data, string? EventType, string? EventId, TimeSpan? Retry);

/// <summary>
/// Reads an upstream SSE stream for a relay that must look at each event (a policy's filter), bounded per event.
/// </summary>
/// <remarks>
/// <see cref="System.Net.ServerSentEvents.SseParser"/> drops comment lines and gathers one event's data without limit;
/// a relay needs the opposite on both counts: comments are what keep an idle stream alive through proxies with an idle
/// timeout, and an upstream that never ends an event must not grow the gateway's memory. So comments come out as they
/// arrive, and an event (or any line) past <c>maxEventBytes</c> ends the reading with <see cref="TooLarge"/> set.
/// Line ends follow the SSE grammar (CRLF, LF or a lone CR). The memory of an item stays valid until the next read.
/// </remarks>
public sealed class SseRelayReader(Stream stream, long maxEventBytes) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private readonly ArrayBufferWriter<byte> _line = new();
    private readonly ArrayBufferWriter<byte> _raw = new();
    private readonly ArrayBufferWriter<byte> _data = new();
    private int _start;
    private int _end;
    private bool _skipLineFeed;
    private bool _eventHandedOut;
    private string? _eventType;
    private string? _eventId;
    private TimeSpan? _retry;

    /// <summary>True once reading stopped because one event (or one line) grew past the limit.</summary>
    public bool TooLarge { get; private set; }

    /// <summary>The next comment or complete event; null at the end of the stream or when <see cref="TooLarge"/>.</summary>
    /// <remarks>An event the stream ends in the middle of is dropped, as the SSE grammar says.</remarks>
    public async ValueTask<SseRelayItem?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_eventHandedOut)
        {
            _eventHandedOut = false;
            _raw.Clear();
            _data.Clear();
            _eventType = null;
            _eventId = null;
            _retry = null;
        }

        while (!TooLarge)
        {
            while (_start < _end)
            {
                if (_skipLineFeed)
                {
                    _skipLineFeed = false;
                    if (_buffer[_start] == (byte)'\n')
                    {
                        _start++;
                        continue;
                    }
                }

                var span = _buffer.AsSpan(_start, _end - _start);
                var end = span.IndexOfAny((byte)'\r', (byte)'\n');
                var part = end < 0 ? span : span[..end];
                if (_raw.WrittenCount + _line.WrittenCount + part.Length > maxEventBytes)
                {
                    TooLarge = true;
                    return null;
                }

                _line.Write(part);
                if (end < 0)
                {
                    _start = _end;
                    break;
                }

                _start += end + 1;
                _skipLineFeed = span[end] == (byte)'\r';
                var item = TakeLine();
                if (item is not null)
                {
                    return item;
                }
            }

            var read = await stream.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                return null;
            }

            _start = 0;
            _end = read;
        }

        return null;
    }

    /// <summary>Interprets the line gathered in <c>_line</c> (then cleared); returns an item when it completes one.</summary>
    private SseRelayItem? TakeLine()
    {
        var line = _line.WrittenSpan;
        try
        {
            if (line.IsEmpty)
            {
                if (_raw.WrittenCount == 0)
                {
                    return null;
                }

                _raw.Write("\n"u8);
                _eventHandedOut = true;
                // The data buffer's last line feed is not part of the data (SSE: "remove the last character").
                var data = _data.WrittenCount > 0 ? _data.WrittenMemory[..^1] : ReadOnlyMemory<byte>.Empty;
                return new SseRelayItem(false, _raw.WrittenMemory, data, _eventType, _eventId, _retry);
            }

            if (line[0] == (byte)':')
            {
                var comment = new byte[line.Length + 1];
                line.CopyTo(comment);
                comment[^1] = (byte)'\n';
                return new SseRelayItem(true, comment, ReadOnlyMemory<byte>.Empty, null, null, null);
            }

            _raw.Write(line);
            _raw.Write("\n"u8);
            var colon = line.IndexOf((byte)':');
            var name = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (value.Length > 0 && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (name.SequenceEqual("data"u8))
            {
                _data.Write(value);
                _data.Write("\n"u8);
            }
            else if (name.SequenceEqual("event"u8))
            {
                _eventType = Encoding.UTF8.GetString(value);
            }
            else if (name.SequenceEqual("id"u8) && !value.Contains((byte)0))
            {
                _eventId = Encoding.UTF8.GetString(value);
            }
            else if (name.SequenceEqual("retry"u8) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds < 1L << 40)
            {
                _retry = TimeSpan.FromMilliseconds(milliseconds);
            }

            return null;
        }
        finally
        {
            _line.Clear();
        }
    }

    /// <summary>
    /// The stream's events as <see cref="SseParser"/> gives them, comments left out, each bounded by <paramref name="maxEventBytes"/>:
    /// past it <paramref name="onTooLarge"/> runs and the sequence ends. For the bridges, whose client stream is Gatehouse's own.
    /// </summary>
    public static async IAsyncEnumerable<SseItem<string>> EventsAsync(Stream stream, long maxEventBytes, Action onTooLarge, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new SseRelayReader(stream, maxEventBytes);
        while (await reader.ReadAsync(cancellationToken) is { } item)
        {
            if (!item.IsComment)
            {
                yield return new SseItem<string>(Encoding.UTF8.GetString(item.Data.Span), item.EventType) { EventId = item.EventId, ReconnectionInterval = item.Retry };
            }
        }

        if (reader.TooLarge)
        {
            onTooLarge();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
