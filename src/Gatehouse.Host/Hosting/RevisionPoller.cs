using Gatehouse.Storage.Configuration;

namespace Gatehouse.Host.Hosting;

/// <summary>Checks the stored configuration revision periodically, in case a writer committed but could not touch the stamp file.</summary>
internal sealed class RevisionPoller(StoredSnapshotSource snapshots, ServeSettings settings, TimeProvider time, ILogger<RevisionPoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.RevisionPollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (snapshots.ReloadIfRevisionChanged())
                    {
                        HostLog.ConfigurationReloaded(logger);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    HostLog.RevisionCheckFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
