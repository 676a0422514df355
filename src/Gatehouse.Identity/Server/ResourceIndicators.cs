using Gatehouse.Core.Configuration;
using Gatehouse.Proxy.Endpoints;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Identity.Server;

/// <summary>RFC 8707: maps the <c>resource</c> a client asks for to the Gatehouse server it names.</summary>
public sealed class ResourceIndicators(ProtectedResourceMetadata metadata, IGatewaySnapshotSource snapshots)
{
    /// <summary>The scope-like marker stored on a remembered consent, so an approval covers one server.</summary>
    public const string ServerConsentPrefix = "gatehouse:server:";

    /// <summary>
    /// The server named by <paramref name="resources"/>, which must be exactly one URL equal to the resource URL of an
    /// existing server (<c>{gateway}/mcp/{server}</c>); null with a reason otherwise.
    /// </summary>
    public (string? Server, string? Problem) Resolve(HttpRequest request, IReadOnlyCollection<string>? resources)
    {
        if (resources is not { Count: 1 })
        {
            return (null, "Send exactly one 'resource' parameter: the URL of the Gatehouse server the token is for (<gateway>/mcp/<server>).");
        }

        var resource = resources.First();
        var prefix = metadata.BaseUrl(request) + "/mcp/";
        if (!resource.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return (null, $"The resource '{resource}' is not a server of this Gatehouse (expected {prefix}<server>).");
        }

        var server = resource[prefix.Length..];
        return snapshots.Current.ServersByName.ContainsKey(server) && metadata.ResourceUrl(request, server) == resource
            ? (server, null)
            : (null, $"The resource '{resource}' is not a server of this Gatehouse.");
    }
}
