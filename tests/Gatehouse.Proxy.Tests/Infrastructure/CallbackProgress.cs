using ModelContextProtocol;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>Reports progress synchronously (Progress&lt;T&gt; posts to the thread pool, which would make counts racy).</summary>
public sealed class CallbackProgress(Action<ProgressNotificationValue> onReport) : IProgress<ProgressNotificationValue>
{
    public void Report(ProgressNotificationValue value) => onReport(value);

    /// <summary>A reporter and a task that completes after <paramref name="count"/> reports.</summary>
    public static (CallbackProgress Progress, Task Done) Counting(int count)
    {
        var seen = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (new CallbackProgress(_ =>
        {
            if (Interlocked.Increment(ref seen) == count)
            {
                done.TrySetResult();
            }
        }), done.Task);
    }
}
