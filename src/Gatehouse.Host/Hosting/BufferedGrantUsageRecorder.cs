using System.Collections.Concurrent;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Security;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Storage;

namespace Gatehouse.Host.Hosting;

/// <summary>Collects "last used" times in memory and writes them in batches, so the request path never waits on the database.</summary>
internal sealed class BufferedGrantUsageRecorder(GatehouseStorage storage, ISecretProtector vault, TimeProvider time, ILogger<BufferedGrantUsageRecorder> logger)
    : BackgroundService, IGrantUsageRecorder
{
    private ConcurrentDictionary<Guid, DateTimeOffset> _pending = new();

    public void Record(Guid grantId, DateTimeOffset at) => _pending[grantId] = at;

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
        if (_pending.IsEmpty)
        {
            return;
        }

        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<Guid, DateTimeOffset>());
        try
        {
            await using var db = storage.CreateContext();
            await new GatewayAdministration(db, vault, time, static () => { }).RecordGrantUsageAsync(batch, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            HostLog.UsageFlushFailed(logger, ex.GetType().Name);
        }
    }
}
