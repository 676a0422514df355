namespace Gatehouse.Testing.Hosting;

/// <summary>
/// Thread-safe, append-only log of the requests an upstream received. Kestrel serves requests concurrently,
/// so every access goes through one lock; readers get snapshots so they never observe a half-appended list.
/// </summary>
internal sealed class RequestLog
{
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<Waiter> _waiters = [];

    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_gate)
        {
            return _requests.ToArray();
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    public void Add(RecordedRequest request)
    {
        List<(Waiter Waiter, Exception? Error)>? finished = null;
        lock (_gate)
        {
            _requests.Add(request);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                bool matched;
                Exception? error = null;
                try
                {
                    matched = _waiters[i].Predicate(request);
                }
                catch (Exception ex)
                {
                    // A faulty test predicate must fail its own wait, not the HTTP request being recorded.
                    matched = true;
                    error = ex;
                }

                if (matched)
                {
                    (finished ??= []).Add((_waiters[i], error));
                    _waiters.RemoveAt(i);
                }
            }
        }

        // Completed outside the lock so nothing a continuation does can contend with recording.
        if (finished is not null)
        {
            foreach (var (waiter, error) in finished)
            {
                if (error is null)
                {
                    waiter.Completion.TrySetResult(request);
                }
                else
                {
                    waiter.Completion.TrySetException(error);
                }
            }
        }
    }

    public async Task<RecordedRequest> WaitForAsync(Func<RecordedRequest, bool> predicate, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            // A request that already arrived satisfies the wait immediately, so callers need not race the
            // gateway: "wait for the DELETE" works whether it came before or after the call.
            foreach (var existing in _requests)
            {
                if (predicate(existing))
                {
                    return existing;
                }
            }

            waiter = new Waiter(predicate, new TaskCompletionSource<RecordedRequest>(TaskCreationOptions.RunContinuationsAsynchronously));
            _waiters.Add(waiter);
        }

        using var registration = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }

            waiter.Completion.TrySetCanceled(cancellationToken);
        });
        return await waiter.Completion.Task.ConfigureAwait(false);
    }

    private sealed record Waiter(Func<RecordedRequest, bool> Predicate, TaskCompletionSource<RecordedRequest> Completion);
}
