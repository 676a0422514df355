using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Core.Servers;

/// <summary>The names used for transports and auth modes in the CLI, the YAML file and the admin API.</summary>
public static class TransportNames
{
    /// <summary>Formats a transport as its configuration name.</summary>
    public static string Format(UpstreamTransport transport) => transport switch
    {
        UpstreamTransport.StreamableHttp => "streamable-http",
        UpstreamTransport.Sse => "sse",
        _ => "auto",
    };

    /// <summary>Parses a configuration name (case-insensitive).</summary>
    public static bool TryParse(string? value, out UpstreamTransport transport, [NotNullWhen(false)] out string? problem)
    {
        problem = null;
        switch (value?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto": transport = UpstreamTransport.Auto; return true;
            case "streamable-http" or "streamable" or "http": transport = UpstreamTransport.StreamableHttp; return true;
            case "sse": transport = UpstreamTransport.Sse; return true;
            default:
                transport = UpstreamTransport.Auto;
                problem = $"unknown transport '{value}': use auto, streamable-http or sse.";
                return false;
        }
    }

    /// <summary>Formats an auth mode as its configuration name.</summary>
    public static string Format(UpstreamAuthMode mode) => mode switch { UpstreamAuthMode.Headers => "headers", UpstreamAuthMode.OAuth => "oauth", _ => "none" };
}
