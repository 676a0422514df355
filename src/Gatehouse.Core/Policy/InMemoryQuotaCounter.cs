using System.Collections.Concurrent;

namespace Gatehouse.Core.Policy;

/// <summary>
/// Fixed-window quota counters in this process's memory, thread-safe. Windows are aligned to the Unix epoch
/// (a <c>1h</c> window runs from the top of each hour), so every replica agrees where a window starts even though
/// each keeps its own counts. Expired windows are swept now and then, driven by the <c>now</c> values passed in.
/// </summary>
public sealed class InMemoryQuotaCounter : IQuotaCounter
{
    /// <summary>Reservations between two sweeps of ended windows.</summary>
    private const int SweepEvery = 4096;

    private readonly ConcurrentDictionary<string, Counter> counters = new(StringComparer.Ordinal);
    private int untilSweep = SweepEvery;

    /// <summary>The number of keys currently held (for tests and diagnostics).</summary>
    public int Count => counters.Count;

    /// <inheritdoc />
    public bool TryReserve(string key, int limit, TimeSpan window, DateTimeOffset now, out DateTimeOffset resetsAt, out QuotaReservation reservation)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);

        var start = WindowStart(now, window);
        if (Interlocked.Decrement(ref untilSweep) <= 0)
        {
            Volatile.Write(ref untilSweep, SweepEvery);
            Sweep(now.UtcTicks);
        }

        while (true)
        {
            var counter = counters.GetOrAdd(key, static _ => new Counter());
            lock (counter)
            {
                if (counter.Removed)
                {
                    // Swept between GetOrAdd and the lock: counting here would be lost, so take the new entry.
                    continue;
                }

                if (counter.Length != window.Ticks || start > counter.Start)
                {
                    // A new window (or a changed policy window): start counting afresh. A start earlier than the
                    // current one (clock stepped back) keeps counting in the current window instead of resetting it.
                    counter.Start = start;
                    counter.Length = window.Ticks;
                    counter.Used = 0;
                }

                resetsAt = new DateTimeOffset(counter.Start + counter.Length, TimeSpan.Zero);
                if (counter.Used >= limit)
                {
                    reservation = default;
                    return false;
                }

                counter.Used++;
                reservation = new QuotaReservation(key, new DateTimeOffset(counter.Start, TimeSpan.Zero), window);
                return true;
            }
        }
    }

    /// <inheritdoc />
    public void Release(QuotaReservation reservation)
    {
        if (reservation.IsEmpty || !counters.TryGetValue(reservation.Key, out var counter))
        {
            return;
        }

        lock (counter)
        {
            // Only the window the call was counted in gets it back; a later window never owed it.
            if (!counter.Removed && counter.Start == reservation.WindowStart.UtcTicks && counter.Length == reservation.Window.Ticks && counter.Used > 0)
            {
                counter.Used--;
            }
        }
    }

    /// <summary>The start of the epoch-aligned window containing <paramref name="now"/>, in UTC ticks.</summary>
    private static long WindowStart(DateTimeOffset now, TimeSpan window)
    {
        var sinceEpoch = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var offset = sinceEpoch % window.Ticks;
        if (offset < 0)
        {
            offset += window.Ticks;
        }

        return now.UtcTicks - offset;
    }

    private void Sweep(long nowTicks)
    {
        foreach (var (key, counter) in counters)
        {
            lock (counter)
            {
                if (counter.Start + counter.Length > nowTicks)
                {
                    continue;
                }

                counter.Removed = true;
            }

            counters.TryRemove(new KeyValuePair<string, Counter>(key, counter));
        }
    }

    /// <summary>One key's current window; guarded by its own lock.</summary>
    private sealed class Counter
    {
        public long Start;
        public long Length;
        public int Used;
        public bool Removed;
    }
}
