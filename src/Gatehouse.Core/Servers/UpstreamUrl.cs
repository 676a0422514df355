using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Core.Servers;

/// <summary>Validates the URL of an upstream MCP server.</summary>
public static class UpstreamUrl
{
    /// <summary>Accepts absolute http(s) URLs without credentials or fragments.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out Uri? url, [NotNullWhen(false)] out string? problem)
    {
        url = null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            problem = $"'{value}' is not an absolute http:// or https:// URL of an MCP endpoint (e.g. https://mcp.example.com/mcp).";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.UserInfo))
        {
            problem = "the upstream URL must not carry credentials; use --header to give the upstream a credential, which is stored encrypted.";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.Fragment))
        {
            problem = "the upstream URL must not have a #fragment.";
            return false;
        }

        url = parsed;
        problem = null;
        return true;
    }
}
