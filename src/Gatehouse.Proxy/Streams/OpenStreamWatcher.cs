using Gatehouse.Core.Configuration;
using Gatehouse.Proxy.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Streams;

/// <summary>
/// Ends open streams and bridged sessions of principals that lost access, within a second of the change: reads the
/// snapshot every 250 ms while anything is held (one stat of the change stamp, which reloads when another process
/// changed the configuration) and reviews the holds when the revision moved.
/// </summary>
/// <remarks>
/// Reloads in this process (admin API, revocations by the authorization server) and in others (CLI) both move the
/// revision; waiting for the next request, or for the 5 s revision poll, would leave a revoked stream running.
/// </remarks>
public sealed class OpenStreamWatcher(OpenStreamRegistry registry, IGatewaySnapshotSource snapshots, TimeProvider time, ILogger<OpenStreamWatcher> logger) : BackgroundService
{
    /// <summary>How often the snapshot is looked at while streams are open.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        long reviewed = -1;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (registry.Count == 0)
                {
                    reviewed = -1;
                    continue;
                }

                try
                {
                    var snapshot = snapshots.Current;
                    if (snapshot.Revision != reviewed)
                    {
                        reviewed = snapshot.Revision;
                        if (registry.Review(snapshot, time.GetUtcNow()) is var ended and > 0)
                        {
                            ProxyLog.StreamsEndedOnRevocation(logger, ended);
                        }
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ProxyLog.StreamReviewFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
