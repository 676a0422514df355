using Gatehouse.Proxy.Security;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>CORS for browser-based MCP clients (the Inspector, web agents) from allowed origins.</summary>
public static class CorsHeaders
{
    /// <summary>Headers a browser client must be able to read.</summary>
    public const string Exposed = "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version";

    /// <summary>Adds CORS headers when the Origin is allowed; answers preflights. Returns true when the request was a preflight.</summary>
    public static bool Apply(HttpContext context, HostOriginValidator validator)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || validator.Validate(context.Request) is not null)
        {
            return false;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.Vary = "Origin";
        headers.AccessControlExposeHeaders = Exposed;
        if (!HttpMethods.IsOptions(context.Request.Method))
        {
            return false;
        }

        headers.AccessControlAllowMethods = "GET, POST, DELETE, OPTIONS";
        headers.AccessControlAllowHeaders = context.Request.Headers.AccessControlRequestHeaders.ToString() is { Length: > 0 } requested
            ? requested
            : "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return true;
    }
}
