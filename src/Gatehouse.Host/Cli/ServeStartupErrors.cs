using System.Net.Sockets;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Host.Cli;

/// <summary>
/// The known ways <c>serve</c> fails to start, each turned into one line saying what and what to do, so an operator
/// never reads a stack trace for a port in use, an unwritable data directory or an https address without TLS.
/// </summary>
internal static class ServeStartupErrors
{
    /// <summary>The line to print for <paramref name="exception"/>, or null when it is not a known start-up failure.</summary>
    public static string? Describe(Exception exception, string dataDirectory, string urls)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || e.GetType().Name == "AddressInUseException")
            {
                return $"cannot listen on {urls}: the address is already in use by another program. Stop that program, or choose another address with --urls (e.g. --urls http://127.0.0.1:9000).";
            }

            if (e is SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AccessDenied } socket)
            {
                return $"cannot listen on {urls} ({socket.SocketErrorCode}): use an address of this machine and a port you may open (above 1024 without privileges) with --urls.";
            }

            if (e is InvalidOperationException && e.Message.Contains("UseKestrelHttpsConfiguration", StringComparison.Ordinal)
                || e.Message.Contains("No server certificate was specified", StringComparison.Ordinal))
            {
                return $"cannot listen on {urls}: Gatehouse serves plain HTTP and has no TLS certificate. Put a TLS-terminating proxy in front, listen with --urls http://…, and give the public address with --public-url https://….";
            }

            if (e is UnauthorizedAccessException or DirectoryNotFoundException or SqliteException { SqliteErrorCode: 8 or 14 }
                || e is IOException && e.GetType() == typeof(IOException) && IsUnder(e.Message, dataDirectory))
            {
                return $"the data directory {dataDirectory} cannot be created or written ({Reason(e)}). Give Gatehouse a writable directory with --data (or GATEHOUSE_DATA).";
            }
        }

        return null;
    }

    private static bool IsUnder(string message, string dataDirectory) => message.Contains(dataDirectory, StringComparison.Ordinal);

    // The framework's messages name a path at most, never a secret; the first sentence is enough for one line.
    private static string Reason(Exception e) => e switch
    {
        SqliteException { SqliteErrorCode: 8 } => "the database is read-only",
        SqliteException { SqliteErrorCode: 14 } => "the database file cannot be opened",
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "a part of the path does not exist or is not a directory",
        _ => e.Message.Split('\n')[0].TrimEnd('.'),
    };
}
