using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.UpstreamAuth.Net;
using Microsoft.Extensions.Logging;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Registration;

/// <summary>
/// Fetches and checks Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client whose
/// <c>client_id</c> is an https URL publishes its metadata at that URL instead of registering.
/// </summary>
/// <remarks>
/// The URL comes from whoever starts an authorization request, so it goes through the SSRF-guarded client: public https
/// targets only (loopback http only when <see cref="AuthorizationServerOptions.AllowLoopbackClientMetadata"/> is set), a
/// small size limit, a short timeout. Every refusal is a sentence naming the problem, shown to the person or returned as
/// the <c>error_description</c>; none of them ever sends the browser to a redirect URI of the unchecked document.
/// </remarks>
internal sealed partial class ClientMetadataDocumentFetcher : IDisposable
{
    /// <summary>The largest document accepted; real ones are a few hundred bytes.</summary>
    public const int MaxDocumentBytes = 5 * 1024;

    /// <summary>How long a document is trusted at least, whatever its cache headers say (bounds the fetches one client can cause).</summary>
    public static readonly TimeSpan MinCacheLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How long a document is trusted at most, so a changed or withdrawn document takes effect within a day.</summary>
    public static readonly TimeSpan MaxCacheLifetime = TimeSpan.FromHours(24);

    /// <summary>How long a document without cache headers is trusted.</summary>
    public static readonly TimeSpan DefaultCacheLifetime = TimeSpan.FromHours(1);

    private readonly GuardedHttpClient _http;
    private readonly OutboundUrlPolicy _policy;
    private readonly ILogger _logger;
    private readonly AuthorizationServerOptions _options;

    /// <summary>Creates the fetcher.</summary>
    public ClientMetadataDocumentFetcher(AuthorizationServerOptions options, ILogger<ClientMetadataDocumentFetcher> logger, ILogger<GuardedHttpClient> httpLogger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _policy = new OutboundUrlPolicy(options.AllowLoopbackClientMetadata);
        _http = new GuardedHttpClient(TimeSpan.FromSeconds(5), MaxDocumentBytes, httpLogger);
        _logger = logger;
    }

    // One gate per client id, alive while someone holds or waits for it: concurrent sign-ins of one new client create it
    // once, and a slow (or hostile) document delays only the sign-ins of its own client, never another client's.
    private readonly Dictionary<string, ClientGate> _gates = new(StringComparer.Ordinal);

    private sealed class ClientGate
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Holders { get; set; }
    }

    /// <summary>
    /// Enters the gate of <paramref name="clientId"/>: creating or refreshing its application from its document happens
    /// once at a time per client. Dispose the result to leave.
    /// </summary>
    internal async Task<IDisposable> EnterAsync(string clientId, CancellationToken ct)
    {
        ClientGate gate;
        lock (_gates)
        {
            if (!_gates.TryGetValue(clientId, out gate!))
            {
                _gates[clientId] = gate = new ClientGate();
            }

            gate.Holders++;
        }

        try
        {
            await gate.Semaphore.WaitAsync(ct);
        }
        catch
        {
            Leave(clientId, gate, entered: false);
            throw;
        }

        return new GateLease(() => Leave(clientId, gate, entered: true));
    }

    private void Leave(string clientId, ClientGate gate, bool entered)
    {
        if (entered)
        {
            gate.Semaphore.Release();
        }

        lock (_gates)
        {
            if (--gate.Holders == 0)
            {
                _gates.Remove(clientId);
                gate.Semaphore.Dispose();
            }
        }
    }

    private sealed class GateLease(Action leave) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                leave();
            }
        }
    }

    /// <summary>True when <paramref name="clientId"/> is meant as a metadata document URL (any http or https URL; DCR ids never are).</summary>
    public static bool IsUrlClientId(string? clientId) =>
        clientId is not null
        && (clientId.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || clientId.StartsWith("http://", StringComparison.OrdinalIgnoreCase));

    /// <summary>Null when <paramref name="clientId"/> is a URL a document may be fetched from; else why not.</summary>
    public string? CheckUrl(string clientId)
    {
        if (clientId.Length > 2048 || !Uri.TryCreate(clientId, UriKind.Absolute, out var url))
        {
            return clientId.Length > 2048 ? "The client_id is a URL longer than 2048 characters." : $"The client_id '{clientId}' is not a valid URL.";
        }

        var loopbackHttp = _options.AllowLoopbackClientMetadata && url.Scheme == Uri.UriSchemeHttp && url.IsLoopback;
        if (url.Scheme != Uri.UriSchemeHttps && !loopbackHttp)
        {
            return $"The client_id '{clientId}' is a URL but not an https one; a client metadata document must be served over https.";
        }

        if (url.AbsolutePath is "" or "/" || url.Fragment.Length > 0 || url.UserInfo.Length > 0
            || url.Segments.Any(s => s.TrimEnd('/') is "." or ".."))
        {
            return $"The client_id '{clientId}' is not a valid client metadata document URL: it needs a path, and no fragment, credentials or dot segments.";
        }

        return null;
    }

    /// <summary>Fetches the document at <paramref name="clientId"/> and checks it.</summary>
    /// <returns>The document and how long to trust it, or the problem in a sentence.</returns>
    public async Task<ClientMetadataDocumentResult> FetchAsync(string clientId, CancellationToken ct)
    {
        var url = new Uri(clientId, UriKind.Absolute);
        var where = $"the client metadata document at {clientId}";
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            response = await _http.SendAsync(request, _policy, ct);
        }
        catch (OutboundUrlRefusedException ex)
        {
            // Whoever starts an authorization sees the problem; what the host resolved to inside this network goes
            // only to the log.
            LogRefusedTarget(_logger, clientId, ex.Message);
            return Failed(clientId, ex.PublicMessage);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            return Failed(clientId, $"Gatehouse could not use {where}: it is larger than {MaxDocumentBytes:N0} bytes.");
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            return Failed(clientId, $"Gatehouse could not fetch {where}: {ex.Message}");
        }

        using (response)
        {
            // The guard checks every redirect hop, but a document must be served at its own URL: its id is that URL.
            if (response.RequestMessage?.RequestUri is { } final && final != url)
            {
                return Failed(clientId, $"Gatehouse could not use {where}: it redirected elsewhere; a client metadata document must be served at its client_id URL itself.");
            }

            if (!response.IsSuccessStatusCode)
            {
                return Failed(clientId, $"Gatehouse could not fetch {where}: it answered HTTP {(int)response.StatusCode}" +
                    (response.StatusCode == HttpStatusCode.NotFound ? " (not found)." : "."));
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (mediaType is null || !(mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            {
                return Failed(clientId, $"Gatehouse could not use {where}: its content type is '{mediaType ?? "(none)"}', not application/json.");
            }

            ClientMetadata? document;
            try
            {
                document = JsonSerializer.Deserialize(await response.Content.ReadAsByteArrayAsync(ct), RegistrationJsonContext.Default.ClientMetadata);
            }
            catch (JsonException)
            {
                document = null;
            }

            if (document is null)
            {
                return Failed(clientId, $"Gatehouse could not use {where}: it is not a JSON object of client metadata.");
            }

            if (Validate(clientId, document) is { } problem)
            {
                return Failed(clientId, $"Gatehouse refused {where}: {problem}");
            }

            return new ClientMetadataDocumentResult(document, Lifetime(response), null);
        }
    }

    /// <summary>Checks a parsed document against its URL and Gatehouse's rules; null when it may be used.</summary>
    internal string? Validate(string clientId, ClientMetadata document)
    {
        if (!string.Equals(document.ClientId, clientId, StringComparison.Ordinal))
        {
            return document.ClientId is null
                ? "it has no client_id; it must contain \"client_id\" equal to its own URL."
                : $"its client_id '{document.ClientId}' differs from the URL it was fetched from; they must be exactly equal.";
        }

        if (document.ClientSecret is not null)
        {
            return "it contains a client_secret, which a public document must never carry.";
        }

        var authMethod = document.TokenEndpointAuthMethod ?? ClientAuthenticationMethods.None;
        if (authMethod != ClientAuthenticationMethods.None)
        {
            return authMethod.StartsWith("client_secret", StringComparison.Ordinal)
                ? $"token_endpoint_auth_method '{authMethod}' needs a shared secret, which a client identified by a URL cannot have; use none."
                : $"token_endpoint_auth_method '{authMethod}' is not supported for client metadata documents; use none (public client with PKCE).";
        }

        return ClientMetadataRules.Check(document, _options.AllowedRedirectSchemes) is { } refused ? refused.Description : null;
    }

    /// <summary>How long to trust a document: its <c>Cache-Control</c> or <c>Expires</c>, within <see cref="MinCacheLifetime"/> and <see cref="MaxCacheLifetime"/>.</summary>
    internal static TimeSpan Lifetime(HttpResponseMessage response)
    {
        var cache = response.Headers.CacheControl;
        TimeSpan? wanted = cache switch
        {
            { NoStore: true } or { NoCache: true } => TimeSpan.Zero,
            { MaxAge: { } maxAge } => maxAge - (response.Headers.Age ?? TimeSpan.Zero),
            _ when response.Content.Headers.Expires is { } expires => expires - (response.Headers.Date ?? expires),
            _ => null,
        };
        var lifetime = wanted ?? DefaultCacheLifetime;
        return lifetime < MinCacheLifetime ? MinCacheLifetime : lifetime > MaxCacheLifetime ? MaxCacheLifetime : lifetime;
    }

    private ClientMetadataDocumentResult Failed(string clientId, string problem)
    {
        LogRefused(_logger, clientId, problem);
        return new ClientMetadataDocumentResult(null, TimeSpan.Zero, problem);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
    }

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Client metadata document {ClientId}: {Detail}")]
    private static partial void LogRefusedTarget(ILogger logger, string clientId, string detail);

    [LoggerMessage(EventId = 7201, Level = LogLevel.Warning, Message = "Client metadata document {ClientId} refused: {Problem}")]
    private static partial void LogRefused(ILogger logger, string clientId, string problem);
}

/// <summary>A fetched document and how long to trust it, or why it cannot be used.</summary>
/// <param name="Document">The checked document; null when <paramref name="Problem"/> is set.</param>
/// <param name="Lifetime">How long the document may be used before it is fetched again.</param>
/// <param name="Problem">Why the document cannot be used, as a sentence for the person or the client.</param>
internal sealed record ClientMetadataDocumentResult(ClientMetadata? Document, TimeSpan Lifetime, string? Problem);
