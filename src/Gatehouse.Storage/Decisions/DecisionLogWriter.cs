using System.Text.Json;
using System.Threading.Channels;
using Gatehouse.Core.Decisions;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Storage.Decisions;

/// <summary>What the gateway does while the decision log's queue is full (storage is not keeping up).</summary>
public enum DecisionLogOverflow
{
    /// <summary>Refuse new proxied requests with GH1800 (503) until the queue has room: nothing runs unrecorded. The default.</summary>
    FailClosed,

    /// <summary>Keep serving; records that do not fit are not stored, and are counted and logged.</summary>
    FailOpen,
}

/// <summary>How the decision log writer batches, retries and expires records.</summary>
public sealed record DecisionLogOptions
{
    /// <summary>Records older than this are removed (default 30 days).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How often expired records are removed (also once at start); at most 49 days.</summary>
    public TimeSpan PurgeInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most records written in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 500;

    /// <summary>
    /// How long a partly filled batch waits for more records before it is written. Under light load this turns a
    /// transaction (and a WAL sync) per request into a few per second; under heavy load batches fill before it ends.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Attempts at writing a batch before it is written record by record (and only failing records are dropped).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait before the first retry; doubled for each further one, up to 5 seconds.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Most memory the queue of records not yet stored may hold, in (estimated) bytes; default 64 MiB, some hundred
    /// thousand records. Beyond it <see cref="Overflow"/> decides.
    /// </summary>
    public long MaxQueuedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>What happens while the queue is full; <see cref="DecisionLogOverflow.FailClosed"/> by default.</summary>
    public DecisionLogOverflow Overflow { get; init; } = DecisionLogOverflow.FailClosed;
}

/// <summary>
/// The stored decision log: <see cref="Record"/> queues without waiting; one background loop writes the queue to the
/// <c>decisions</c> table in batches, and another removes records older than the retention.
/// </summary>
/// <remarks>
/// The request path never waits on the decision log: a slow or locked database delays storing, never a request. The queue
/// is bounded in bytes (<see cref="DecisionLogOptions.MaxQueuedBytes"/>): while it is full, a record that does not fit is
/// counted in <see cref="Overflowed"/> and logged, never dropped silently, and with
/// <see cref="DecisionLogOverflow.FailClosed"/> (the default) <see cref="Accepting"/> turns false so the proxy refuses new
/// requests instead of running them unrecorded. Nothing queued is lost on a graceful shutdown: <see cref="StopAsync"/> closes the
/// queue and waits until the loop has written all of it. A batch that fails is retried (the database may be busy or
/// briefly unwritable); after <see cref="DecisionLogOptions.MaxAttempts"/> it is written record by record, so that one
/// unstorable record cannot hold back all that follow it, and only such records are dropped (counted and logged).
/// </remarks>
public sealed class DecisionLogWriter : IDecisionLog, IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // The longest period a PeriodicTimer accepts (about 49 days).
    private static readonly TimeSpan MaxPurgeInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly GatehouseStorage _storage;
    private readonly DecisionLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<DecisionRecord> _queue = Channel.CreateUnbounded<DecisionRecord>(); // multi-reader kind: the single-reader one cannot count, which the batch window needs
    private readonly Lock _waitersLock = new();
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private readonly CancellationTokenSource _abort = new();
    private TaskCompletionSource _wake = NewSignal();
    private Task? _writeLoop;
    private Task? _purgeLoop;
    private volatile bool _stopping;
    private volatile bool _loopEnded;
    private int _disposed;
    private long _accepted;
    private long _settled;
    private long _written;
    private long _dropped;
    private long _failedBatches;
    private long _queuedBytes;
    private long _overflowed;
    private int _full;

    /// <summary>Creates a writer over <paramref name="storage"/>; call <see cref="Start"/> to begin writing.</summary>
    public DecisionLogWriter(GatehouseStorage storage, DecisionLogOptions options, TimeProvider time, ILogger<DecisionLogWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Retention, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PurgeInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.PurgeInterval, MaxPurgeInterval);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQueuedBytes, 1);
        _storage = storage;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Records stored so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records queued and not yet stored (or dropped).</summary>
    public long Pending => Math.Max(0, Interlocked.Read(ref _accepted) - Interlocked.Read(ref _settled));

    /// <summary>Batch writes that failed (each was retried).</summary>
    public long FailedBatches => Interlocked.Read(ref _failedBatches);

    /// <summary>Records given up on: unstorable after all retries, or recorded after the writer stopped.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Records not queued because the queue was full (storage not keeping up); each is also in no other count.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Estimated bytes held by records queued and not yet stored.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <inheritdoc />
    /// <remarks>Turns false as soon as a record did not fit (not only once the last byte is used), and true again when the write loop has drained some.</remarks>
    public bool Accepting => _options.Overflow == DecisionLogOverflow.FailOpen || (Volatile.Read(ref _full) == 0 && Interlocked.Read(ref _queuedBytes) < _options.MaxQueuedBytes);

    /// <inheritdoc />
    public void Record(DecisionRecord record)
    {
        // Never throws and never waits: a refused record (null, or after stop) is only counted.
        if (record is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        var size = EstimatedSize(record);
        var queued = Interlocked.Add(ref _queuedBytes, size);
        if (queued > _options.MaxQueuedBytes)
        {
            // Over the bound: counted (and logged once per episode), never held in memory without limit.
            Interlocked.Add(ref _queuedBytes, -size);
            Interlocked.Increment(ref _overflowed);
            if (Interlocked.Exchange(ref _full, 1) == 0)
            {
                StorageLog.DecisionQueueFull(_logger, queued - size, _options.MaxQueuedBytes, _options.Overflow.ToString());
            }

            return;
        }

        if (_queue.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _accepted);
        }
        else
        {
            Interlocked.Add(ref _queuedBytes, -size);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>What a queued record costs in memory, roughly: its strings (UTF-16) and a fixed overhead for the rest.</summary>
    internal static long EstimatedSize(DecisionRecord r)
    {
        long chars = (r.RequestId?.Length ?? 0) + (r.PrincipalId?.Length ?? 0) + (r.PrincipalLabel?.Length ?? 0) + (r.Server?.Length ?? 0)
            + (r.Method?.Length ?? 0) + (r.Target?.Length ?? 0) + (r.Decision?.Length ?? 0) + (r.Rule?.Length ?? 0) + (r.PolicyVersion?.Length ?? 0)
            + (r.ArgumentValuesJson?.Length ?? 0) + (r.ErrorCode?.Length ?? 0) + (r.Message?.Length ?? 0);
        foreach (var key in r.ArgumentKeys ?? [])
        {
            chars += key.Length + 12;
        }

        return 256 + 2 * chars;
    }

    /// <summary>Starts the write loop and the retention loop (which purges once at once).</summary>
    public void Start()
    {
        if (_writeLoop is not null)
        {
            return;
        }

        _writeLoop = Task.Run(() => WriteLoopAsync(_abort.Token));
        _purgeLoop = Task.Run(() => PurgeLoopAsync(_abort.Token));
    }

    /// <summary>Completes when everything recorded before the call has been stored (or dropped).</summary>
    /// <remarks>Cuts the batch window short, so a flush does not wait for it. Only a started writer makes progress.</remarks>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _accepted);
        if (Interlocked.Read(ref _settled) >= target)
        {
            return Task.CompletedTask;
        }

        var done = NewSignal();
        lock (_waitersLock)
        {
            _waiters.Add((target, done));
        }

        // Re-check after registering: the loop may have settled the target (or ended) between the first check and the Add.
        ReleaseWaiters(all: _loopEnded);
        Wake();
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops accepting records, stores everything queued, and stops the loops.</summary>
    /// <param name="cancellationToken">When it fires (the host's shutdown timeout), stop waiting; records still queued are lost and logged.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        Wake();
        if (_writeLoop is null)
        {
            return;
        }

        try
        {
            await _writeLoop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            StorageLog.DecisionsLostOnStop(_logger, Pending);
        }
        finally
        {
            await _abort.CancelAsync();
            try
            {
                await Task.WhenAll(_writeLoop, _purgeLoop!);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Removes records older than the retention; returns how many.</summary>
    /// <remarks>Deletes in chunks, so the write loop is never locked out for long by a large purge.</remarks>
    public async Task<int> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        const int chunk = 5000;
        var cutoff = _time.GetUtcNow() - _options.Retention;
        var total = 0;
        await using var db = _storage.CreateContext();
        while (true)
        {
            var ids = db.Decisions.Where(d => d.At < cutoff).OrderBy(d => d.Id).Select(d => d.Id).Take(chunk);
            var deleted = await db.Decisions.Where(d => ids.Contains(d.Id)).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
            if (deleted < chunk)
            {
                return total;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync();
        _abort.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Wake() => Interlocked.Exchange(ref _wake, NewSignal()).TrySetResult();

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        var reader = _queue.Reader;
        var batch = new List<DecisionRecord>(_options.MaxBatchSize);
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                try
                {
                    await WaitForBatchAsync(reader, ct);
                    while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var record))
                    {
                        batch.Add(record);
                    }

                    await WriteWithRetriesAsync(batch, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Storage failures are handled inside; anything else is a defect, but it must not end the loop,
                    // or every later record would pile up in memory unwritten.
                    Interlocked.Add(ref _dropped, batch.Count);
                    StorageLog.DecisionRecordsDropped(_logger, batch.Count, ex.GetType().Name);
                }

                Interlocked.Add(ref _settled, batch.Count);
                long bytes = 0;
                foreach (var record in batch)
                {
                    bytes += EstimatedSize(record);
                }

                if (Interlocked.Add(ref _queuedBytes, -bytes) < _options.MaxQueuedBytes && Interlocked.Exchange(ref _full, 0) == 1)
                {
                    StorageLog.DecisionQueueRecovered(_logger, Interlocked.Read(ref _queuedBytes));
                }

                batch.Clear();
                ReleaseWaiters();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _loopEnded = true;
            ReleaseWaiters(all: true);
        }
    }

    /// <summary>Lets a partly filled batch wait for more records, unless someone is waiting for a flush or stop.</summary>
    private async Task WaitForBatchAsync(ChannelReader<DecisionRecord> reader, CancellationToken ct)
    {
        // Read the signal before checking the conditions: a flush or stop that comes after the check sets this very
        // signal, and one that came before it is seen by the check.
        var wake = Volatile.Read(ref _wake);
        if (_options.BatchWindow <= TimeSpan.Zero || _stopping || HasWaiters() || reader.Count >= _options.MaxBatchSize)
        {
            return;
        }

        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(_options.BatchWindow, _time, window.Token);
        await Task.WhenAny(delay, wake.Task);
        await window.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    private async Task WriteWithRetriesAsync(List<DecisionRecord> batch, CancellationToken ct)
    {
        var delay = _options.RetryDelay;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            try
            {
                await InsertAsync(batch, ct);
                Interlocked.Add(ref _written, batch.Count);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref _failedBatches);
                StorageLog.DecisionBatchFailed(_logger, batch.Count, attempt, _options.MaxAttempts, ex.GetType().Name);
                if (attempt < _options.MaxAttempts)
                {
                    await Task.Delay(delay, _time, ct);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                }
            }
        }

        // One by one, so only records that cannot be stored at all are lost.
        var dropped = 0;
        string? lastError = null;
        foreach (var record in batch)
        {
            try
            {
                await InsertAsync([record], ct);
                Interlocked.Increment(ref _written);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                dropped++;
                lastError = ex.GetType().Name;
            }
        }

        if (dropped > 0)
        {
            Interlocked.Add(ref _dropped, dropped);
            StorageLog.DecisionRecordsDropped(_logger, dropped, lastError!);
        }
    }

    private static readonly string[] Columns =
    [
        "At", "RequestId", "PrincipalId", "PrincipalLabel", "Server", "Method", "Target", "Decision", "Rule", "PolicyVersion",
        "ArgumentKeysJson", "ArgumentValuesJson", "UpstreamStatus", "LatencyMs", "ErrorCode", "Message",
    ];

    private static readonly string InsertSql =
        $"INSERT INTO decisions ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select(c => "$" + c))})";

    // The column stores what EF Core's converter for SQLite makes of a DateTimeOffset, so rows written here read back
    // through the context exactly like rows EF Core wrote.
    private static readonly Func<DateTimeOffset, long> ToStoredTime = new DateTimeOffsetToBinaryConverter().ConvertToProviderTyped;

    private async Task InsertAsync(IReadOnlyList<DecisionRecord> records, CancellationToken ct)
    {
        await using var db = _storage.CreateContext();
        if (!db.Database.IsSqlite())
        {
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            foreach (var record in records)
            {
                db.Decisions.Add(ToEntity(record));
            }

            await db.SaveChangesAsync(ct);
            return;
        }

        // One prepared statement reused for the whole batch in one transaction: tracking entities through EF Core cost
        // tens of microseconds per row, which at proxy rates took CPU from the request path (measured with bench/run.sh).
        var connection = (SqliteConnection)db.Database.GetDbConnection();
        await connection.OpenAsync(ct);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = InsertSql;
        // No declared type: each value binds as what it is (integer, real, text or null), as EF Core would bind it.
        var parameters = Columns.Select(c => command.Parameters.Add(new SqliteParameter { ParameterName = "$" + c })).ToArray();
        command.Prepare();
        foreach (var record in records)
        {
            var row = ToEntity(record);
            object?[] values =
            [
                ToStoredTime(row.At), row.RequestId, row.PrincipalId, row.PrincipalLabel, row.Server, row.Method, row.Target, row.Decision, row.Rule,
                row.PolicyVersion, row.ArgumentKeysJson, row.ArgumentValuesJson, row.UpstreamStatus, row.LatencyMs, row.ErrorCode, row.Message,
            ];
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }

            await command.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static DecisionLogRecord ToEntity(DecisionRecord r)
    {
        var keys = JsonSerializer.Serialize(r.ArgumentKeys?.ToArray() ?? [], StorageJsonContext.Default.StringArray);
        return new DecisionLogRecord
        {
            At = r.At,
            RequestId = DecisionLimits.Cut(r.RequestId ?? "", DecisionLimits.RequestId),
            PrincipalId = DecisionLimits.Cut(r.PrincipalId ?? "", DecisionLimits.Principal),
            PrincipalLabel = DecisionLimits.Cut(r.PrincipalLabel ?? "", DecisionLimits.Principal),
            Server = DecisionLimits.Cut(r.Server ?? "", 63),
            Method = DecisionLimits.Cut(r.Method ?? "", DecisionLimits.Method),
            Target = DecisionLimits.CutOrNull(r.Target, DecisionLimits.Target),
            Decision = DecisionLimits.Cut(r.Decision ?? "", 16),
            Rule = DecisionLimits.CutOrNull(r.Rule, DecisionLimits.Rule),
            PolicyVersion = DecisionLimits.CutOrNull(r.PolicyVersion, 64),
            // A cut array would not be JSON; the keys are dropped instead when a client sent absurdly many.
            ArgumentKeysJson = keys.Length <= DecisionLimits.ArgumentKeys ? keys : "[]",
            // Opted-in values are kept whole or not at all (a cut would not be JSON); the note stays valid JSON.
            ArgumentValuesJson = r.ArgumentValuesJson is { Length: > DecisionLimits.ArgumentValues } tooLong
                ? $"{{\"omitted\":\"{tooLong.Length} characters exceed the {DecisionLimits.ArgumentValues}-character limit\"}}"
                : r.ArgumentValuesJson,
            UpstreamStatus = r.UpstreamStatus,
            LatencyMs = r.LatencyMs,
            ErrorCode = DecisionLimits.CutOrNull(r.ErrorCode, 16),
            Message = DecisionLimits.CutOrNull(r.Message, DecisionLimits.Message),
        };
    }

    private async Task PurgeLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.PurgeInterval, _time);
        try
        {
            do
            {
                try
                {
                    var removed = await PurgeExpiredAsync(ct);
                    if (removed > 0)
                    {
                        StorageLog.DecisionsPurged(_logger, removed, _options.Retention);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    StorageLog.DecisionPurgeFailed(_logger, ex.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool HasWaiters()
    {
        lock (_waitersLock)
        {
            return _waiters.Count > 0;
        }
    }

    private void ReleaseWaiters(bool all = false)
    {
        var settled = Interlocked.Read(ref _settled);
        List<TaskCompletionSource>? done = null;
        lock (_waitersLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (all || _waiters[i].Target <= settled)
                {
                    (done ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var signal in done ?? [])
        {
            signal.TrySetResult();
        }
    }
}
