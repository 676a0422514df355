using System.Text.Json;
using Gatehouse.Core.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>RFC 9728 protected-resource metadata: one document per server path.</summary>
public sealed class ProtectedResourceMetadata(
    IOptions<ProxyOptions> options, IGatewaySnapshotSource snapshots, Authentication.IAccessTokenAuthenticator? authorizationServer = null)
{
    /// <summary>The path prefix of the documents.</summary>
    public const string WellKnownPrefix = "/.well-known/oauth-protected-resource";

    /// <summary>The base URL clients use: the configured public URL, else the (validated) request's scheme and host.</summary>
    public string BaseUrl(HttpRequest request) =>
        options.Value.PublicUrl is { } publicUrl ? publicUrl.GetLeftPart(UriPartial.Authority) + publicUrl.AbsolutePath.TrimEnd('/') : $"{request.Scheme}://{request.Host}";

    /// <summary>The issuer of Gatehouse's own authorization server: the base URL with a trailing slash.</summary>
    public string Issuer(HttpRequest request) => BaseUrl(request) + "/";

    /// <summary>The resource URL of a server (what the client was given).</summary>
    public string ResourceUrl(HttpRequest request, string server) => $"{BaseUrl(request)}/mcp/{server}";

    /// <summary>The path-inserted metadata URL of a server.</summary>
    public string MetadataUrl(HttpRequest request, string server) => $"{BaseUrl(request)}{WellKnownPrefix}/mcp/{server}";

    /// <summary>Serves the document for <c>/mcp/{server}</c>.</summary>
    public async Task WriteAsync(HttpContext context, string server)
    {
        if (!snapshots.Current.ServersByName.ContainsKey(server))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "max-age=300";
        context.Response.Headers.AccessControlAllowOrigin = "*";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("resource", ResourceUrl(context.Request, server));
        writer.WriteString("resource_name", $"Gatehouse: {server}");
        writer.WriteStartArray("bearer_methods_supported");
        writer.WriteStringValue("header");
        writer.WriteEndArray();
        // Gatehouse is its own authorization server: clients sign in to Gatehouse, never to the upstream. Without the
        // authorization server (grant tokens only) none is advertised rather than a wrong one.
        writer.WriteStartArray("authorization_servers");
        if (authorizationServer is not null)
        {
            writer.WriteStringValue(Issuer(context.Request));
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
