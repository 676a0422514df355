namespace Gatehouse.Host.Hosting;

/// <summary>Log events of the host. Fixed ids; never a secret.</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Could not store grant usage times ({Error}); they will be retried with the next batch")]
    public static partial void UsageFlushFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Configuration changed; reloaded")]
    public static partial void ConfigurationReloaded(ILogger logger);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Could not check the configuration revision ({Error})")]
    public static partial void RevisionCheckFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Data directory permissions: {Problem}")]
    public static partial void LoosePermissions(ILogger logger, string problem);
}
