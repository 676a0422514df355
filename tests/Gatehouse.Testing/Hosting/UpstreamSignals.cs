namespace Gatehouse.Testing.Hosting;

/// <summary>
/// Events inside tool handlers that tests need to await without polling or sleeping. One instance lives in
/// each upstream's DI container and is exposed through <see cref="TestUpstream"/>.
/// </summary>
internal sealed class UpstreamSignals
{
    private int _cancellations;

    /// <summary>Completed the first time a <c>slow</c> call starts waiting.</summary>
    public TaskCompletionSource SlowCallStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed the first time a <c>slow</c> call sees its cancellation token fire.</summary>
    public TaskCompletionSource CancellationObserved { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int CancellationCount => Volatile.Read(ref _cancellations);

    public void OnCancelled()
    {
        Interlocked.Increment(ref _cancellations);
        CancellationObserved.TrySetResult();
    }
}
