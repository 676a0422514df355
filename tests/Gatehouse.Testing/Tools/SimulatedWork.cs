namespace Gatehouse.Testing.Tools;

/// <summary>The one way the test upstreams' tools spend time: simulated upstream work on the upstream's clock.</summary>
/// <remarks>
/// This is behaviour of a fake upstream (a slow tool, spaced progress or log notifications that the conformance
/// scenarios require), not test synchronisation. It runs on the <see cref="TimeProvider"/> from
/// <see cref="TestUpstreamOptions.TimeProvider"/>, so a test can drive it with a fake clock.
/// </remarks>
internal static class SimulatedWork
{
    public static Task PauseAsync(this TimeProvider time, TimeSpan duration, CancellationToken cancellationToken) =>
        Task.Delay(duration, time, cancellationToken);
}
