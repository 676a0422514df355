using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.UpstreamAuth.Net;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>
/// Token requests (authorization code with PKCE, refresh, client credentials; OAuth 2.1 §3.2) and revocation (RFC 7009)
/// with client authentication by <c>client_secret_basic</c>, <c>client_secret_post</c>, <c>none</c> or <c>private_key_jwt</c>.
/// </summary>
/// <remarks>
/// Every outcome is a value: network errors, timeouts, 5xx and 429 are <see cref="OAuthFailureKind.Transient"/> (the
/// caller retries with backoff; nothing here retries), the server's refusals are classified by their error code. The
/// <c>resource</c> indicator (RFC 8707) goes on every grant, refresh included. Tokens and secrets never appear in
/// failures or in <see cref="object.ToString"/> of the results.
/// </remarks>
public sealed class TokenEndpointClient
{
    private readonly GuardedHttpClient _http;
    private readonly TimeProvider _time;

    /// <summary>Creates the client.</summary>
    /// <param name="http">The guarded client every request goes through.</param>
    /// <param name="time">The clock that turns <c>expires_in</c> into instants and stamps client assertions.</param>
    public TokenEndpointClient(GuardedHttpClient http, TimeProvider time)
    {
        _http = http;
        _time = time;
    }

    /// <summary>Redeems an authorization code (with its PKCE verifier).</summary>
    /// <param name="server">The authorization server.</param>
    /// <param name="client">The client the code was issued to.</param>
    /// <param name="code">The code from the redirect.</param>
    /// <param name="codeVerifier">The PKCE verifier of the authorization request.</param>
    /// <param name="redirectUri">The redirect URI of the authorization request, exactly.</param>
    /// <param name="resource">The resource indicator of the authorization request, if one was sent.</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    public Task<TokenResult> ExchangeCodeAsync(
        AuthorizationServerMetadata server, ClientCredentials client, string code, string codeVerifier, Uri redirectUri, string? resource,
        OutboundUrlPolicy policy, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "authorization_code"),
            new("code", code),
            new("code_verifier", codeVerifier),
            new("redirect_uri", redirectUri.ToString()),
        };
        AddIfPresent(form, "resource", resource);
        return RequestTokensAsync(server, client, form, policy, ct);
    }

    /// <summary>Refreshes tokens. The server may or may not return a new refresh token; keep the old one when it does not.</summary>
    /// <param name="server">The authorization server.</param>
    /// <param name="client">The client the refresh token was issued to.</param>
    /// <param name="refreshToken">The refresh token.</param>
    /// <param name="resource">The resource indicator (sent on refresh too, RFC 8707 §2.2).</param>
    /// <param name="scope">A narrower scope, or null for the one originally granted (a refresh cannot widen it).</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    public Task<TokenResult> RefreshAsync(
        AuthorizationServerMetadata server, ClientCredentials client, string refreshToken, string? resource, string? scope,
        OutboundUrlPolicy policy, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
        };
        AddIfPresent(form, "scope", scope);
        AddIfPresent(form, "resource", resource);
        return RequestTokensAsync(server, client, form, policy, ct);
    }

    /// <summary>Obtains a token with the client credentials grant.</summary>
    /// <param name="server">The authorization server.</param>
    /// <param name="client">The client (confidential: a secret or a private key).</param>
    /// <param name="resource">The resource indicator.</param>
    /// <param name="scope">The scope to request, or null to omit it.</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    public Task<TokenResult> ClientCredentialsAsync(
        AuthorizationServerMetadata server, ClientCredentials client, string? resource, string? scope, OutboundUrlPolicy policy, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        AddIfPresent(form, "scope", scope);
        AddIfPresent(form, "resource", resource);
        return RequestTokensAsync(server, client, form, policy, ct);
    }

    /// <summary>Revokes a token (RFC 7009), authenticating as <paramref name="client"/>.</summary>
    /// <param name="server">The authorization server; without a <c>revocation_endpoint</c> the result is <see cref="RevocationOutcome.NotSupported"/>.</param>
    /// <param name="client">The client the token was issued to.</param>
    /// <param name="token">The token to revoke.</param>
    /// <param name="tokenTypeHint"><c>refresh_token</c> or <c>access_token</c>.</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<RevocationResult> RevokeAsync(
        AuthorizationServerMetadata server, ClientCredentials client, string token, string tokenTypeHint, OutboundUrlPolicy policy, CancellationToken ct)
    {
        if (server.RevocationEndpoint is not { } endpoint)
        {
            return RevocationResult.NotSupported;
        }

        var form = new List<KeyValuePair<string, string>> { new("token", token) };
        AddIfPresent(form, "token_type_hint", tokenTypeHint);
        var (response, failure) = await PostAsync(endpoint, server, client, form, policy, ct);
        if (failure is not null)
        {
            return new RevocationResult(RevocationOutcome.Failed, failure);
        }

        using (response)
        {
            if (response!.IsSuccessStatusCode)
            {
                return RevocationResult.Revoked;
            }

            var body = await response.Content.ReadAsByteArrayAsync(ct);
            return new RevocationResult(RevocationOutcome.Failed, Classify(response, body, "revocation endpoint"));
        }
    }

    /// <summary>The <c>Authorization</c> value of <c>client_secret_basic</c>: id and secret each form-encoded before base64 (RFC 6749 §2.3.1).</summary>
    internal static string BasicCredentials(string clientId, string clientSecret) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(FormEncode(clientId) + ":" + FormEncode(clientSecret)));

    /// <summary>
    /// application/x-www-form-urlencoded for Basic credentials, with spaces as <c>%20</c>: form decoders read that as a
    /// space too, and so do servers that decode with plain percent-decoding (where <c>+</c> would stay a plus).
    /// </summary>
    private static string FormEncode(string value) => Uri.EscapeDataString(value);

    private async Task<TokenResult> RequestTokensAsync(
        AuthorizationServerMetadata server, ClientCredentials client, List<KeyValuePair<string, string>> form, OutboundUrlPolicy policy, CancellationToken ct)
    {
        if (server.TokenEndpoint is not { } endpoint)
        {
            return new OAuthFailure(OAuthFailureKind.Rejected, "no_token_endpoint", $"The authorization server {server.Issuer} advertises no token_endpoint.", null);
        }

        var (response, failure) = await PostAsync(endpoint, server, client, form, policy, ct);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            var body = await response!.Content.ReadAsByteArrayAsync(ct);
            return response.IsSuccessStatusCode ? ReadTokens(body, (int)response.StatusCode) : Classify(response, body, "token endpoint");
        }
    }

    /// <summary>Sends an authenticated form POST; a failure instead of a response when it never got an answer.</summary>
    private async Task<(HttpResponseMessage? Response, OAuthFailure? Failure)> PostAsync(
        Uri endpoint, AuthorizationServerMetadata server, ClientCredentials client, List<KeyValuePair<string, string>> form, OutboundUrlPolicy policy, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true };
        if (Authenticate(request, form, client, server, endpoint) is { } misconfigured)
        {
            return (null, misconfigured);
        }

        request.Content = new FormUrlEncodedContent(form);
        try
        {
            return (await _http.SendAsync(request, policy, ct), null);
        }
        catch (OutboundUrlRefusedException ex)
        {
            return (null, new OAuthFailure(OAuthFailureKind.Rejected, "url_refused", ex.Message, null));
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            return (null, new OAuthFailure(OAuthFailureKind.Rejected, "response_too_large", ex.Message, null));
        }
        catch (HttpRequestException ex)
        {
            // Only a connection that was never made proves the request was not sent; a drop after that may follow a
            // request the server already handled.
            var neverSent = ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError;
            return (null, new OAuthFailure(OAuthFailureKind.Transient, "network_error", $"{OutboundUrlRefusedException.Describe(endpoint)} could not be reached: {ex.Message}", null)
            {
                MayHaveBeenProcessed = !neverSent,
            });
        }
        catch (TimeoutException ex)
        {
            return (null, new OAuthFailure(OAuthFailureKind.Transient, "timeout", ex.Message, null) { MayHaveBeenProcessed = true });
        }
    }

    /// <summary>Adds client authentication to the request; a failure when the credentials cannot be used.</summary>
    private OAuthFailure? Authenticate(
        HttpRequestMessage request, List<KeyValuePair<string, string>> form, ClientCredentials client, AuthorizationServerMetadata server, Uri endpoint)
    {
        switch (client.AuthMethod)
        {
            case ClientAuthMethods.ClientSecretBasic when client.ClientSecret is { } secret:
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials(client.ClientId, secret));
                return null;

            case ClientAuthMethods.ClientSecretPost when client.ClientSecret is { } secret:
                form.Add(new("client_id", client.ClientId));
                form.Add(new("client_secret", secret));
                return null;

            case ClientAuthMethods.None:
                form.Add(new("client_id", client.ClientId));
                return null;

            case ClientAuthMethods.PrivateKeyJwt:
                string assertion;
                try
                {
                    // The audience is the issuer (RFC 7523bis; accepted by servers that also take the token endpoint).
                    assertion = ClientAssertion.Create(client, server.Issuer ?? endpoint.ToString(), _time.GetUtcNow());
                }
                catch (OAuthProtocolException ex)
                {
                    return new OAuthFailure(OAuthFailureKind.Rejected, "client_configuration", ex.Message, null);
                }

                form.Add(new("client_id", client.ClientId));
                form.Add(new("client_assertion_type", ClientAssertion.JwtBearerType));
                form.Add(new("client_assertion", assertion));
                return null;

            case ClientAuthMethods.ClientSecretBasic or ClientAuthMethods.ClientSecretPost:
                return new OAuthFailure(OAuthFailureKind.Rejected, "client_configuration",
                    $"Client '{client.ClientId}' authenticates with {client.AuthMethod} but has no client secret; configure the secret.", null);

            default:
                return new OAuthFailure(OAuthFailureKind.Rejected, "client_configuration",
                    $"Client '{client.ClientId}' has the unknown token endpoint authentication method '{client.AuthMethod}'; use none, client_secret_basic, client_secret_post or private_key_jwt.", null);
        }
    }

    /// <summary>Reads a successful token response (RFC 6749 §5.1).</summary>
    private TokenResult ReadTokens(byte[] body, int status)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return Malformed("the token response is not JSON", status);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Malformed("the token response is not a JSON object", status);
            }

            if (Text(root, "access_token") is not { } accessToken)
            {
                return Malformed("the token response has no access_token", status);
            }

            var tokenType = Text(root, "token_type");
            if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return new OAuthFailure(OAuthFailureKind.Rejected, "unsupported_token_type",
                    $"The token endpoint issued a token of type '{OAuthResponses.Clean(tokenType, 40) ?? "(none)"}'; Gatehouse only uses Bearer tokens.", status);
            }

            var now = _time.GetUtcNow();
            var refreshExpiresIn = Seconds(root, "refresh_token_expires_in") ?? Seconds(root, "refresh_expires_in");
            return new TokenSet(
                accessToken,
                tokenType!,
                Seconds(root, "expires_in") is { } expiresIn ? now + expiresIn : null,
                Text(root, "refresh_token"),
                refreshExpiresIn is { } refreshIn && refreshIn > TimeSpan.Zero ? now + refreshIn : null,
                Text(root, "scope")?.Trim() is { Length: > 0 } scope ? scope : null);
        }
    }

    /// <summary>Classifies an error response.</summary>
    private OAuthFailure Classify(HttpResponseMessage response, byte[] body, string what)
    {
        var status = (int)response.StatusCode;
        var (error, description) = OAuthResponses.ReadError(body);
        var retryAfter = RetryAfter(response);
        if (status is 408 or 429 || status >= 500 || error is "temporarily_unavailable")
        {
            // 429, 503 and temporarily_unavailable say the server did not handle the request; a 500, 502 or 504 (or a
            // 408 after the body was sent) may come after it did.
            var notHandled = status is 429 or 503 || error is "temporarily_unavailable";
            return new OAuthFailure(OAuthFailureKind.Transient, error ?? $"http_{status}", description ?? $"The {what} answered HTTP {status}.", status)
            {
                RetryAfter = retryAfter, MayHaveBeenProcessed = !notHandled,
            };
        }

        if (status is >= 300 and < 400)
        {
            return new OAuthFailure(OAuthFailureKind.Rejected, $"http_{status}",
                $"The {what} answered with a redirect (HTTP {status}); Gatehouse never re-sends token requests elsewhere.", status);
        }

        var kind = error switch
        {
            "invalid_grant" => OAuthFailureKind.InvalidGrant,
            "invalid_client" => OAuthFailureKind.InvalidClient,
            "invalid_scope" => OAuthFailureKind.InvalidScope,
            null when status == 401 => OAuthFailureKind.InvalidClient,
            _ => OAuthFailureKind.Rejected,
        };
        return new OAuthFailure(kind, error ?? $"http_{status}", description ?? (error is null ? $"The {what} answered HTTP {status}." : null), status) { RetryAfter = retryAfter };
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - _time.GetUtcNow() is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static OAuthFailure Malformed(string why, int status) =>
        new(OAuthFailureKind.Rejected, "invalid_response", $"The token endpoint answered HTTP {status}, but {why}.", status);

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>A lifetime in seconds, as a JSON number or (leniently) a numeric string; null when absent or nonsensical.</summary>
    private static TimeSpan? Seconds(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            return null;
        }

        double seconds;
        if (value.ValueKind == JsonValueKind.Number)
        {
            seconds = value.GetDouble();
        }
        else if (value.ValueKind != JsonValueKind.String || !double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out seconds))
        {
            return null;
        }

        // A hundred years covers every real lifetime and keeps the arithmetic far from DateTimeOffset's limits.
        return seconds is >= 0 and < 3_153_600_000 ? TimeSpan.FromSeconds(seconds) : null;
    }

    private static void AddIfPresent(List<KeyValuePair<string, string>> form, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            form.Add(new(name, value));
        }
    }
}
