using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Logging;

/// <summary>The proxy's log events. Fixed ids; no secrets, tokens or argument values are ever logged.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Rejected {Method} /mcp/{Server}: {Code} (HTTP {Status})")]
    public static partial void Rejected(ILogger logger, string method, string server, string code, int status);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Upstream of {Server} unreachable: {Reason}")]
    public static partial void UpstreamUnreachable(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Upstream of {Server} timed out after {Seconds} s")]
    public static partial void UpstreamTimeout(ILogger logger, string server, double seconds);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Upstream of {Server} answered badly: {Detail}")]
    public static partial void UpstreamBadResponse(ILogger logger, string server, string detail);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Stored upstream credential of {Server} cannot be decrypted")]
    public static partial void SecretUnreadable(ILogger logger, string server);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, Message = "Stream of {Server} ended: {Reason}")]
    public static partial void StreamEnded(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 2080, Level = LogLevel.Information, Message = "Ended {Count} open streams or bridged sessions of principals that lost access")]
    public static partial void StreamsEndedOnRevocation(ILogger logger, int count);

    [LoggerMessage(EventId = 2081, Level = LogLevel.Warning, Message = "Could not review open streams against the configuration ({Error}); will try again")]
    public static partial void StreamReviewFailed(ILogger logger, string error);
}
