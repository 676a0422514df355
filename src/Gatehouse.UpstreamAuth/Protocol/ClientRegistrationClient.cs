using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.UpstreamAuth.Net;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>Client metadata sent to a registration endpoint (RFC 7591 §2); serialized with the standard snake_case names, nulls omitted.</summary>
/// <param name="ClientName">A human-readable name the authorization server may show on its consent page.</param>
/// <param name="RedirectUris">Redirect URIs for the authorization-code flow.</param>
/// <param name="GrantTypes">Grant types the client will use (<c>authorization_code</c>, <c>refresh_token</c>, <c>client_credentials</c>).</param>
/// <param name="ResponseTypes">Response types the client will use (<c>code</c>).</param>
/// <param name="TokenEndpointAuthMethod">How the client will authenticate at the token endpoint (see <see cref="ClientAuthMethods"/>).</param>
/// <param name="Scope">Scopes the client may request, space-separated.</param>
/// <param name="ClientUri">A web page about the client.</param>
/// <param name="SoftwareId">Identifies the client software across registrations.</param>
/// <param name="SoftwareVersion">The client software's version.</param>
public sealed record ClientRegistrationRequest(
    string ClientName,
    IReadOnlyList<string> RedirectUris,
    IReadOnlyList<string> GrantTypes,
    IReadOnlyList<string> ResponseTypes,
    string TokenEndpointAuthMethod,
    string? Scope = null,
    string? ClientUri = null,
    string? SoftwareId = null,
    string? SoftwareVersion = null);

/// <summary>The client an authorization server registered (RFC 7591 §3.2.1).</summary>
/// <param name="ClientId">The issued client identifier.</param>
/// <param name="ClientSecret">The issued secret, for confidential clients.</param>
/// <param name="ClientSecretExpiresAt">When the secret expires; null when it never does (the server sent 0 or nothing).</param>
/// <param name="TokenEndpointAuthMethod">The method the server registered (from its answer, else the one requested).</param>
/// <param name="RegistrationAccessToken">The token for the client configuration endpoint (RFC 7592), if issued.</param>
/// <param name="RegistrationClientUri">The client configuration endpoint, if any.</param>
/// <remarks><see cref="ToString"/> never prints the secret or the registration access token.</remarks>
public sealed record RegisteredClient(
    string ClientId,
    string? ClientSecret,
    DateTimeOffset? ClientSecretExpiresAt,
    string TokenEndpointAuthMethod,
    string? RegistrationAccessToken,
    Uri? RegistrationClientUri)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"RegisteredClient {{ ClientId = {ClientId}, TokenEndpointAuthMethod = {TokenEndpointAuthMethod}, " +
        $"ClientSecret = {(ClientSecret is null ? "(none)" : "(hidden)")}, ClientSecretExpiresAt = {ClientSecretExpiresAt?.ToString("O") ?? "(never)"} }}";
}

/// <summary>Dynamic client registration (RFC 7591) with an authorization server's <c>registration_endpoint</c>.</summary>
public sealed class ClientRegistrationClient
{
    /// <summary>The last second <see cref="DateTimeOffset"/> can hold (9999-12-31T23:59:59Z).</summary>
    private const long MaxUnixSeconds = 253_402_300_799;

    private readonly GuardedHttpClient _http;

    /// <summary>Creates the client.</summary>
    /// <param name="http">The guarded client registration requests go through.</param>
    public ClientRegistrationClient(GuardedHttpClient http) => _http = http;

    /// <summary>
    /// The token endpoint authentication to register with: <c>client_secret_basic</c> when supported (or when the server
    /// lists nothing, RFC 8414's default), else <c>client_secret_post</c>, else <c>none</c>. <c>private_key_jwt</c> is
    /// never chosen: a dynamically registered client has no key the server knows.
    /// </summary>
    public static string ChooseAuthMethod(AuthorizationServerMetadata server)
    {
        var methods = server.TokenEndpointAuthMethodsSupported;
        if (methods is null || methods.Count == 0 || methods.Contains(ClientAuthMethods.ClientSecretBasic, StringComparer.Ordinal))
        {
            return ClientAuthMethods.ClientSecretBasic;
        }

        return methods.Contains(ClientAuthMethods.ClientSecretPost, StringComparer.Ordinal) ? ClientAuthMethods.ClientSecretPost : ClientAuthMethods.None;
    }

    /// <summary>Registers a client.</summary>
    /// <param name="server">The authorization server; it must have a <c>registration_endpoint</c>.</param>
    /// <param name="request">The client metadata.</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="OAuthProtocolException">The server has no registration endpoint, refused, could not be reached, or answered without a client id.</exception>
    /// <exception cref="OutboundUrlRefusedException">The registration endpoint is not allowed under <paramref name="policy"/>.</exception>
    public async Task<RegisteredClient> RegisterAsync(AuthorizationServerMetadata server, ClientRegistrationRequest request, OutboundUrlPolicy policy, CancellationToken ct)
    {
        var endpoint = server.RegistrationEndpoint ?? throw new OAuthProtocolException(
            $"The authorization server {server.Issuer} offers no dynamic client registration (no registration_endpoint). " +
            "Register Gatehouse there by hand and configure the client id and secret.");
        var described = OutboundUrlRefusedException.Describe(endpoint);

        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJsonContext.Default.ClientRegistrationRequest)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, policy, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            throw new OAuthProtocolException($"The registration endpoint {described} could not be reached: {ex.Message}", inner: ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                var error = OAuthResponses.ReadError(body);
                var what = error.Error is null ? $"HTTP {status}" : $"HTTP {status}, {error.Error}{(error.Description is null ? "" : ": " + error.Description)}";
                throw new OAuthProtocolException(
                    $"The registration endpoint {described} refused to register Gatehouse ({what}). " +
                    "If the server does not allow open registration, register Gatehouse there by hand and configure the client id and secret.",
                    error.Error, error.Description, status);
            }

            RegistrationResponse? registered;
            try
            {
                registered = JsonSerializer.Deserialize(body, ProtocolJsonContext.Default.RegistrationResponse);
            }
            catch (JsonException ex)
            {
                throw new OAuthProtocolException($"The registration endpoint {described} answered HTTP {status} with a body that is not a JSON client information response.", statusCode: status, inner: ex);
            }

            if (string.IsNullOrEmpty(registered?.ClientId))
            {
                throw new OAuthProtocolException($"The registration endpoint {described} answered HTTP {status} without a client_id.", statusCode: status);
            }

            return new RegisteredClient(
                registered.ClientId,
                string.IsNullOrEmpty(registered.ClientSecret) ? null : registered.ClientSecret,
                registered.ClientSecretExpiresAt is long expiry and > 0 and < MaxUnixSeconds ? DateTimeOffset.FromUnixTimeSeconds(expiry) : null,
                string.IsNullOrEmpty(registered.TokenEndpointAuthMethod) ? request.TokenEndpointAuthMethod : registered.TokenEndpointAuthMethod,
                string.IsNullOrEmpty(registered.RegistrationAccessToken) ? null : registered.RegistrationAccessToken,
                Uri.TryCreate(registered.RegistrationClientUri, UriKind.Absolute, out var configuration) ? configuration : null);
        }
    }
}
