using Gatehouse.Core.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Security;

/// <summary>DNS-rebinding protection: the Host must be one this gateway serves and any Origin must be allowed.</summary>
/// <remarks>
/// A page on a hostile site can make a browser resolve its own name to 127.0.0.1 and talk to a local gateway; such
/// requests carry the hostile name in Host and the hostile site in Origin, so checking both stops them.
/// </remarks>
public sealed class HostOriginValidator(IOptions<ProxyOptions> options)
{
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]", "::1"];

    /// <summary>Returns an error when the request must be refused.</summary>
    public GatewayError? Validate(HttpRequest request)
    {
        var host = request.Host.Host;
        if (!IsAllowedHost(host))
        {
            return GatewayErrors.ForbiddenHost(request.Host.Value ?? "");
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return null;
        }

        if (options.Value.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var originUri) && IsAllowedHost(originUri.IdnHost)
            ? null
            : GatewayErrors.ForbiddenOrigin(origin);
    }

    private bool IsAllowedHost(string host)
    {
        if (LoopbackHosts.Contains(host, StringComparer.OrdinalIgnoreCase) || host.StartsWith("127.", StringComparison.Ordinal) && System.Net.IPAddress.TryParse(host, out _))
        {
            return true;
        }

        var value = options.Value;
        return (value.PublicUrl is { } publicUrl && string.Equals(publicUrl.IdnHost, host, StringComparison.OrdinalIgnoreCase))
               || value.AllowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase)
               || value.AllowedHosts.Contains("*");
    }
}
