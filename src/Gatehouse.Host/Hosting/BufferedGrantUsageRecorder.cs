using System.Collections.Concurrent;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Security;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Storage;

namespace Gatehouse.Host.Hosting;

/// <summary>Collects "last used" times in memory and writes them in batches, so the request path never waits on the database.</summary>
/// <remarks>
/// Every request records its grant, so recording must not take a lock: a dictionary write per request did, and all
/// requests of one grant contended for the same one. Each grant instead has a cell that requests advance with a
/// compare-and-swap (after the first request, a lock-free lookup), and a flush writes the cells that moved since the
/// last successful write.
/// </remarks>
internal sealed class BufferedGrantUsageRecorder(GatehouseStorage storage, ISecretProtector vault, TimeProvider time, ILogger<BufferedGrantUsageRecorder> logger)
    : BackgroundService, IGrantUsageRecorder
{
    private readonly ConcurrentDictionary<Guid, UsageCell> _cells = new();

    public void Record(Guid grantId, DateTimeOffset at)
    {
        if (!_cells.TryGetValue(grantId, out var cell))
        {
            cell = _cells.GetOrAdd(grantId, static _ => new UsageCell());
        }

        cell.Advance(at);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        Dictionary<Guid, DateTimeOffset>? batch = null;
        List<(UsageCell Cell, long Ticks)>? taken = null;
        foreach (var (grantId, cell) in _cells)
        {
            if (cell.TakeUnwritten() is { } ticks)
            {
                (batch ??= [])[grantId] = new DateTimeOffset(ticks, TimeSpan.Zero);
                (taken ??= []).Add((cell, ticks));
            }
        }

        if (batch is null)
        {
            return;
        }

        try
        {
            await using var db = storage.CreateContext();
            await new GatewayAdministration(db, vault, time, static () => { }).RecordGrantUsageAsync(batch, ct);
            foreach (var (cell, ticks) in taken!)
            {
                cell.MarkWritten(ticks);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The cells keep their times, so the next flush writes them again.
            HostLog.UsageFlushFailed(logger, ex.GetType().Name);
        }
    }

    /// <summary>The latest use of one grant (UTC ticks) and the latest one stored.</summary>
    private sealed class UsageCell
    {
        private long _lastUsedTicks;
        private long _writtenTicks;

        public void Advance(DateTimeOffset at)
        {
            var ticks = at.UtcTicks;
            var current = Volatile.Read(ref _lastUsedTicks);
            while (ticks > current)
            {
                var seen = Interlocked.CompareExchange(ref _lastUsedTicks, ticks, current);
                if (seen == current)
                {
                    return;
                }

                current = seen;
            }
        }

        /// <summary>The latest use when it has not been stored yet; only the flush (one at a time) calls this.</summary>
        public long? TakeUnwritten()
        {
            var ticks = Volatile.Read(ref _lastUsedTicks);
            return ticks > _writtenTicks ? ticks : null;
        }

        public void MarkWritten(long ticks) => _writtenTicks = Math.Max(_writtenTicks, ticks);
    }
}
