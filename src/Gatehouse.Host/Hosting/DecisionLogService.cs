using Gatehouse.Storage.Decisions;

namespace Gatehouse.Host.Hosting;

/// <summary>Runs the <see cref="DecisionLogWriter"/> for the lifetime of the host.</summary>
/// <remarks>
/// Registered before the web server (which <see cref="WebApplication"/> adds last), so the host stops it after the
/// server has stopped taking requests: every decision of a served request is queued by then, and stopping drains the
/// queue into the database before the process lets go of it.
/// </remarks>
internal sealed class DecisionLogService(DecisionLogWriter writer) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        writer.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => writer.StopAsync(cancellationToken);
}
