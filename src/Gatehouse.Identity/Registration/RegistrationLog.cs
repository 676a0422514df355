using Microsoft.Extensions.Logging;

namespace Gatehouse.Identity.Registration;

/// <summary>Log events of client registration housekeeping. Fixed ids; client counts only.</summary>
internal static partial class RegistrationLog
{
    [LoggerMessage(EventId = 4801, Level = LogLevel.Information, Message = "Removed {Count} clients registered or discovered but never used within the retention")]
    public static partial void UnusedClientsPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 4802, Level = LogLevel.Warning, Message = "Could not remove unused clients ({Error}); will try again")]
    public static partial void UnusedClientPurgeFailed(ILogger logger, string error);
}
