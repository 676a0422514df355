using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Gatehouse.UpstreamAuth.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>
/// Finds out how to authorize with an upstream MCP server: probes it for a Bearer challenge, reads its protected-resource
/// metadata (RFC 9728) and its authorization server's metadata (RFC 8414 / OpenID Connect discovery), falling back to
/// the 2025-03-26 rules for servers that publish no protected-resource metadata.
/// </summary>
/// <remarks>
/// <para>
/// The MCP URL itself is configured by an admin and reached wherever it is (the proxy talks to it anyway); every URL
/// learnt from there on, including the well-known documents on the MCP server's own origin, goes through the
/// <see cref="GuardedHttpClient"/> under the given policy.
/// </para>
/// <para>
/// Two checks protect the authorization that follows: the protected-resource metadata must name a resource that covers
/// the MCP URL (else a server could collect tokens meant for another resource), and the authorization server metadata's
/// <c>issuer</c> must equal the issuer it was looked up for (mix-up protection). Both fail with a
/// <see cref="DiscoveryException"/> before any authorization request could be made.
/// </para>
/// </remarks>
public sealed partial class AuthorizationDiscovery
{
    /// <summary>The protocol version of the probe's <c>initialize</c> request.</summary>
    public const string ProbeProtocolVersion = "2025-11-25";

    private const string ProtectedResourceWellKnown = "/.well-known/oauth-protected-resource";
    private const string AuthorizationServerWellKnown = "/.well-known/oauth-authorization-server";
    private const string OpenIdConfigurationWellKnown = "/.well-known/openid-configuration";

    private static readonly byte[] ProbeBody = Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProbeProtocolVersion +
        "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"gatehouse\",\"version\":\"1\"}}}");

    private readonly GuardedHttpClient _http;
    private readonly ILogger _logger;

    /// <summary>Creates the discovery client.</summary>
    /// <param name="http">The guarded client every metadata fetch goes through.</param>
    /// <param name="logger">Where the URLs tried are logged (debug level).</param>
    public AuthorizationDiscovery(GuardedHttpClient http, ILogger<AuthorizationDiscovery>? logger = null)
    {
        _http = http;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Discovers the resource and authorization server of an MCP endpoint.</summary>
    /// <param name="mcpServerUrl">The admin-configured MCP endpoint (http or https).</param>
    /// <param name="policy">Which targets metadata may be fetched from.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="challenge">The Bearer challenge of a response already received; when null the endpoint is probed with an unauthenticated <c>initialize</c>.</param>
    /// <exception cref="DiscoveryException">Nothing usable was found, the metadata contradicts the MCP URL or the issuer, or a server could not be reached.</exception>
    /// <exception cref="OutboundUrlRefusedException">A metadata URL is not allowed under <paramref name="policy"/>.</exception>
    public async Task<DiscoveryResult> DiscoverAsync(Uri mcpServerUrl, OutboundUrlPolicy policy, CancellationToken ct, WwwAuthenticateChallenge? challenge = null)
    {
        if (!mcpServerUrl.IsAbsoluteUri || (mcpServerUrl.Scheme != Uri.UriSchemeHttps && mcpServerUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new DiscoveryException($"'{mcpServerUrl}' is not an absolute http:// or https:// URL of an MCP endpoint.");
        }

        challenge ??= await ProbeAsync(mcpServerUrl, ct);
        var attempts = new List<string>();
        var (resourceMetadata, resourceMetadataUrl) = await FindResourceMetadataAsync(mcpServerUrl, challenge, policy, attempts, ct);
        if (resourceMetadata is null || resourceMetadataUrl is null)
        {
            if (challenge?.ResourceMetadata is { } announced)
            {
                throw new DiscoveryException(
                    $"{Describe(mcpServerUrl)} announces protected-resource metadata at {Describe(announced)}, but no usable document was found ({string.Join("; ", attempts)}). " +
                    "Ask the upstream's operator to fix its metadata.");
            }

            return await LegacyAsync(mcpServerUrl, challenge, policy, ct);
        }

        var resource = EnsureCovers(resourceMetadata, resourceMetadataUrl, mcpServerUrl);
        var issuer = resourceMetadata.AuthorizationServers?.FirstOrDefault(s => !string.IsNullOrWhiteSpace(s))
            ?? throw new DiscoveryException(
                $"The protected-resource metadata at {Describe(resourceMetadataUrl)} lists no authorization_servers, so Gatehouse cannot tell where to authorize. " +
                "Ask the upstream's operator to fix its metadata.");
        var (metadata, metadataUrl) = await FindAuthorizationServerMetadataAsync(issuer, policy, ct);
        return new DiscoveryResult(mcpServerUrl, resource, resourceMetadata, resourceMetadataUrl, metadata, issuer, challenge, IsLegacyFallback: false)
        {
            AuthorizationServerMetadataUrl = metadataUrl,
        };
    }

    /// <summary>The canonical form of an MCP URL as a resource identifier: lowercase scheme and host, no default port, no fragment, path kept as written.</summary>
    public static string CanonicalResource(Uri url)
    {
        var path = url.AbsolutePath;
        if (path == "/" && !HasExplicitPath(url.OriginalString))
        {
            // Uri adds "/" to an empty path; the resource keeps what was configured.
            path = "";
        }

        return url.GetLeftPart(UriPartial.Authority) + path + url.Query;
    }

    /// <summary>True when <paramref name="resource"/> covers <paramref name="mcpServerUrl"/>: same origin, and a path prefix on a segment boundary.</summary>
    public static bool Covers(Uri resource, Uri mcpServerUrl)
    {
        if (!string.Equals(resource.Scheme, mcpServerUrl.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(resource.IdnHost, mcpServerUrl.IdnHost, StringComparison.OrdinalIgnoreCase)
            || resource.Port != mcpServerUrl.Port)
        {
            return false;
        }

        var resourcePath = resource.AbsolutePath.TrimEnd('/');
        var mcpPath = mcpServerUrl.AbsolutePath.TrimEnd('/');
        return resourcePath.Length == 0
            || mcpPath.Equals(resourcePath, StringComparison.Ordinal)
            || mcpPath.StartsWith(resourcePath + "/", StringComparison.Ordinal);
    }

    /// <summary>The metadata URLs for an issuer, in the order of the MCP specification (RFC 8414 §3.1, then OpenID Connect).</summary>
    public static IReadOnlyList<Uri> AuthorizationServerMetadataUrls(Uri issuer)
    {
        var origin = issuer.GetLeftPart(UriPartial.Authority);
        var path = issuer.AbsolutePath.TrimEnd('/');
        return path.Length > 0
            ? [new Uri(origin + AuthorizationServerWellKnown + path), new Uri(origin + OpenIdConfigurationWellKnown + path), new Uri(origin + path + OpenIdConfigurationWellKnown)]
            : [new Uri(origin + AuthorizationServerWellKnown), new Uri(origin + OpenIdConfigurationWellKnown)];
    }

    /// <summary>The well-known protected-resource metadata URLs of an MCP URL: path-inserted first (when there is a path), then the root.</summary>
    public static IReadOnlyList<Uri> ProtectedResourceMetadataUrls(Uri mcpServerUrl)
    {
        var origin = mcpServerUrl.GetLeftPart(UriPartial.Authority);
        var path = mcpServerUrl.AbsolutePath.TrimEnd('/');
        return path.Length > 0
            ? [new Uri(origin + ProtectedResourceWellKnown + path), new Uri(origin + ProtectedResourceWellKnown)]
            : [new Uri(origin + ProtectedResourceWellKnown)];
    }

    private async Task<WwwAuthenticateChallenge?> ProbeAsync(Uri mcpServerUrl, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, mcpServerUrl) { Content = new ByteArrayContent(ProbeBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        try
        {
            // The body is never read: a server that needs no authorization may answer with a stream that stays open.
            using var response = await _http.SendCoreAsync(request, OutboundUrlPolicy.AdminConfigured, bufferContent: false, ct);
            LogProbe(_logger, Describe(mcpServerUrl), (int)response.StatusCode);
            return response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? WwwAuthenticateChallenge.FromResponse(response) : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            throw new DiscoveryException($"The MCP server at {Describe(mcpServerUrl)} could not be reached to discover its authorization: {ex.Message}", ex);
        }
    }

    private async Task<(ProtectedResourceMetadata? Document, Uri? Url)> FindResourceMetadataAsync(
        Uri mcpServerUrl, WwwAuthenticateChallenge? challenge, OutboundUrlPolicy policy, List<string> attempts, CancellationToken ct)
    {
        var candidates = new List<Uri>();
        if (challenge?.ResourceMetadata is { } announced)
        {
            candidates.Add(announced);
        }

        foreach (var url in ProtectedResourceMetadataUrls(mcpServerUrl))
        {
            if (!candidates.Contains(url))
            {
                candidates.Add(url);
            }
        }

        foreach (var url in candidates)
        {
            var (document, outcome) = await FetchAsync(url, ProtocolJsonContext.Default.ProtectedResourceMetadata, policy, ct);
            if (document is not null && string.IsNullOrWhiteSpace(document.Resource))
            {
                (document, outcome) = (null, "no 'resource' member");
            }

            attempts.Add($"{Describe(url)}: {outcome}");
            if (document is not null)
            {
                return (document, url);
            }
        }

        return (null, null);
    }

    private async Task<(AuthorizationServerMetadata Metadata, Uri Url)> FindAuthorizationServerMetadataAsync(string issuer, OutboundUrlPolicy policy, CancellationToken ct)
    {
        if (!Uri.TryCreate(issuer, UriKind.Absolute, out var issuerUrl)
            || (issuerUrl.Scheme != Uri.UriSchemeHttps && issuerUrl.Scheme != Uri.UriSchemeHttp)
            || issuerUrl.Query.Length > 0 || issuerUrl.Fragment.Length > 0)
        {
            throw new DiscoveryException(
                $"The authorization server '{issuer}' named by the protected-resource metadata is not an https URL without query or fragment (RFC 8414 §2).");
        }

        var attempts = new List<string>();
        foreach (var url in AuthorizationServerMetadataUrls(issuerUrl))
        {
            var (document, outcome) = await FetchAsync(url, ProtocolJsonContext.Default.AuthorizationServerMetadata, policy, ct);
            attempts.Add($"{Describe(url)}: {outcome}");
            if (document is null)
            {
                continue;
            }

            if (!string.Equals(document.Issuer, issuer, StringComparison.Ordinal))
            {
                throw new DiscoveryException(
                    $"The authorization server metadata at {Describe(url)} names issuer '{document.Issuer}', not '{issuer}' as the protected-resource metadata says; " +
                    "refusing to use it (RFC 8414 §3.3 requires them to be identical, which protects against mix-up attacks). Ask the upstream's operator to fix its metadata.");
            }

            EnsureEndpoints(document, issuer, url);
            return (document, url);
        }

        throw new DiscoveryException(
            $"The authorization server {issuer} publishes no metadata at any standard location ({string.Join("; ", attempts)}). " +
            "Ask the upstream's operator where its OAuth 2.0 authorization server metadata is.");
    }

    /// <summary>The 2025-03-26 rules: the authorization server is the MCP server's origin; its metadata, else the default endpoints.</summary>
    private async Task<DiscoveryResult> LegacyAsync(Uri mcpServerUrl, WwwAuthenticateChallenge? challenge, OutboundUrlPolicy policy, CancellationToken ct)
    {
        var origin = mcpServerUrl.GetLeftPart(UriPartial.Authority);
        var resource = CanonicalResource(mcpServerUrl);
        foreach (var url in AuthorizationServerMetadataUrls(new Uri(origin)))
        {
            var (document, _) = await FetchAsync(url, ProtocolJsonContext.Default.AuthorizationServerMetadata, policy, ct);
            if (document is null)
            {
                continue;
            }

            // Servers of that era may place the issuer under a path of their own origin (the metadata still sits at the
            // root, as that revision prescribed); an issuer on another origin would hand the flow to a third party.
            var issuer = string.IsNullOrWhiteSpace(document.Issuer) ? origin : document.Issuer;
            if (!Uri.TryCreate(issuer, UriKind.Absolute, out var issuerUrl)
                || !string.Equals(issuerUrl.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase))
            {
                throw new DiscoveryException(
                    $"The authorization server metadata at {Describe(url)} names issuer '{document.Issuer}', which is not on the MCP server's origin {origin}; " +
                    "without protected-resource metadata Gatehouse only trusts an authorization server on the MCP server's own origin. Ask the upstream's operator to publish protected-resource metadata.");
            }

            EnsureEndpoints(document, issuer, url);
            LogLegacy(_logger, Describe(mcpServerUrl), Describe(url));
            return new DiscoveryResult(mcpServerUrl, resource, null, null, document with { Issuer = issuer }, issuer, challenge, IsLegacyFallback: true)
            {
                AuthorizationServerMetadataUrl = url,
            };
        }

        LogLegacy(_logger, Describe(mcpServerUrl), "(default endpoints)");
        var synthesized = new AuthorizationServerMetadata
        {
            Issuer = origin,
            AuthorizationEndpoint = new Uri(origin + "/authorize"),
            TokenEndpoint = new Uri(origin + "/token"),
            RegistrationEndpoint = new Uri(origin + "/register"),
            ResponseTypesSupported = ["code"],
            GrantTypesSupported = ["authorization_code", "refresh_token"],
            CodeChallengeMethodsSupported = ["S256"],
        };
        return new DiscoveryResult(mcpServerUrl, resource, null, null, synthesized, origin, challenge, IsLegacyFallback: true);
    }

    private static string EnsureCovers(ProtectedResourceMetadata metadata, Uri metadataUrl, Uri mcpServerUrl)
    {
        var resource = metadata.Resource!;
        if (!Uri.TryCreate(resource, UriKind.Absolute, out var resourceUrl) || !Covers(resourceUrl, mcpServerUrl))
        {
            throw new DiscoveryException(
                $"The protected-resource metadata at {Describe(metadataUrl)} names resource {resource}, which does not cover {Describe(mcpServerUrl)}; " +
                "refusing to authorize, since tokens obtained that way would be meant for another resource. " +
                "Check the server's configured URL, or ask the upstream's operator to fix its metadata.");
        }

        return resource;
    }

    private static void EnsureEndpoints(AuthorizationServerMetadata metadata, string issuer, Uri url)
    {
        if (metadata.TokenEndpoint is null)
        {
            throw new DiscoveryException($"The authorization server metadata of {issuer} at {Describe(url)} has no token_endpoint.");
        }

        foreach (var (name, endpoint) in new[]
                 {
                     ("authorization_endpoint", metadata.AuthorizationEndpoint), ("token_endpoint", metadata.TokenEndpoint),
                     ("registration_endpoint", metadata.RegistrationEndpoint), ("revocation_endpoint", metadata.RevocationEndpoint),
                 })
        {
            if (endpoint is { IsAbsoluteUri: false } || endpoint is { Scheme: not ("https" or "http") })
            {
                throw new DiscoveryException($"The authorization server metadata of {issuer} at {Describe(url)} has a {name} that is not an absolute http(s) URL.");
            }
        }
    }

    /// <summary>Fetches a metadata document; a missing, non-JSON or malformed document is "not here" (the next location is tried).</summary>
    private async Task<(T? Document, string Outcome)> FetchAsync<T>(Uri url, JsonTypeInfo<T> type, OutboundUrlPolicy policy, CancellationToken ct)
        where T : class
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, policy, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            throw new DiscoveryException($"{Describe(url)} could not be fetched: {ex.Message}", ex);
        }

        using (response)
        {
            string outcome;
            T? document = null;
            if (!response.IsSuccessStatusCode)
            {
                outcome = $"HTTP {(int)response.StatusCode}";
            }
            else
            {
                try
                {
                    document = JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(ct), type);
                    outcome = document is null ? "empty document" : "found";
                }
                catch (JsonException)
                {
                    // Some hosts answer unknown paths with 200 and an HTML page: that is not a metadata document.
                    outcome = "not a JSON metadata document";
                }
            }

            LogFetched(_logger, Describe(url), outcome);
            return (document, outcome);
        }
    }

    private static bool HasExplicitPath(string original)
    {
        var schemeEnd = original.IndexOf("://", StringComparison.Ordinal);
        var pathStart = original.IndexOfAny(['/', '?', '#'], schemeEnd < 0 ? 0 : schemeEnd + 3);
        return pathStart >= 0 && original[pathStart] == '/';
    }

    private static string Describe(Uri url) => OutboundUrlRefusedException.Describe(url);

    [LoggerMessage(EventId = 7111, Level = LogLevel.Debug, Message = "Authorization discovery probed {Url}: HTTP {Status}")]
    private static partial void LogProbe(ILogger logger, string url, int status);

    [LoggerMessage(EventId = 7112, Level = LogLevel.Debug, Message = "Authorization discovery fetched {Url}: {Outcome}")]
    private static partial void LogFetched(ILogger logger, string url, string outcome);

    [LoggerMessage(EventId = 7113, Level = LogLevel.Information, Message = "{Url} publishes no protected-resource metadata; using 2025-03-26 discovery ({Metadata})")]
    private static partial void LogLegacy(ILogger logger, string url, string metadata);
}
