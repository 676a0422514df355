using Microsoft.Extensions.Logging;

namespace Gatehouse.Storage.Decisions;

/// <summary>Log events of the decision log writer. Fixed ids; counts and exception types only, never record contents.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Could not store {Count} decision records (attempt {Attempt} of {MaxAttempts}, {Error}); retrying")]
    public static partial void DecisionBatchFailed(ILogger logger, int count, int attempt, int maxAttempts, string error);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Dropped {Count} decision records that could not be stored one by one ({Error})")]
    public static partial void DecisionRecordsDropped(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Removed {Count} decision records older than {Retention}")]
    public static partial void DecisionsPurged(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Could not remove expired decision records ({Error}); will try again")]
    public static partial void DecisionPurgeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Shutdown did not wait for the decision log; {Count} records were not stored")]
    public static partial void DecisionsLostOnStop(ILogger logger, long count);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "The decision log queue is full ({Bytes} bytes queued, limit {Limit}); storage is not keeping up. Records are counted in gatehouse.decision_log.overflow; mode {Mode}")]
    public static partial void DecisionQueueFull(ILogger logger, long bytes, long limit, string mode);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "The decision log queue has room again ({Bytes} bytes queued)")]
    public static partial void DecisionQueueRecovered(ILogger logger, long bytes);
}
