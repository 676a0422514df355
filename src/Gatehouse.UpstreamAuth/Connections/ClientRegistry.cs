using Gatehouse.Core.Servers;
using Gatehouse.Storage.Entities;
using Gatehouse.UpstreamAuth.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>A client identity to use at an authorization server, and where it came from.</summary>
/// <param name="Credentials">What token requests authenticate with.</param>
/// <param name="Source"><c>pre-registered</c>, <c>cimd</c> or <c>dcr</c>.</param>
public sealed record ResolvedClient(ClientCredentials Credentials, string Source);

/// <summary>
/// Chooses Gatehouse's client identity at an authorization server in the order of the MCP specification: credentials the
/// admin pre-registered, then Gatehouse's own Client ID Metadata Document, then dynamic registration (persisted by issuer).
/// </summary>
public sealed class ClientRegistry(UpstreamAuthServices services)
{
    /// <summary>The source name of admin-provided credentials.</summary>
    public const string PreRegistered = "pre-registered";

    /// <summary>The source name of a Client ID Metadata Document client id.</summary>
    public const string Cimd = "cimd";

    /// <summary>The source name of a dynamic registration.</summary>
    public const string Dynamic = "dcr";

    /// <summary>Resolves (registering when needed) the client for a new authorization.</summary>
    /// <param name="server">The upstream server.</param>
    /// <param name="metadata">Its authorization server.</param>
    /// <param name="issuer">The issuer the registration is keyed by.</param>
    /// <param name="redirectUri">Gatehouse's redirect URI.</param>
    /// <param name="clientMetadataUrl">Gatehouse's CIMD URL, when one is usable with this server.</param>
    /// <param name="forceNewRegistration">Drop a stored dynamic registration first (the server answered <c>invalid_client</c>).</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<ResolvedClient> ResolveAsync(
        ServerDefinition server, AuthorizationServerMetadata metadata, string issuer, Uri redirectUri, Uri? clientMetadataUrl,
        bool forceNewRegistration, CancellationToken ct)
    {
        if (PreRegisteredClient(server, metadata) is { } preRegistered)
        {
            return preRegistered;
        }

        if (metadata.ClientIdMetadataDocumentSupported == true && clientMetadataUrl is not null)
        {
            return new ResolvedClient(new ClientCredentials(clientMetadataUrl.ToString(), null, "none"), Cimd);
        }

        await using var db = services.Storage.CreateContext();
        var redirect = redirectUri.ToString();
        var stored = await db.OAuthClients.FirstOrDefaultAsync(c => c.Issuer == issuer && c.RedirectUri == redirect, ct);
        var now = services.Time.GetUtcNow();
        if (stored is not null && (forceNewRegistration || stored.ClientSecretExpiresAt is { } expiry && expiry <= now))
        {
            db.OAuthClients.Remove(stored);
            await db.SaveChangesAsync(ct);
            stored = null;
        }

        if (stored is not null)
        {
            return new ResolvedClient(ToCredentials(stored), Dynamic);
        }

        if (metadata.RegistrationEndpoint is null)
        {
            throw new ConnectException(
                $"The authorization server {issuer} supports neither Client ID Metadata Documents (with an HTTPS public URL) nor dynamic client registration. " +
                $"Register Gatehouse there by hand (redirect URI {redirect}) and store the credentials: gatehouse server add {server.Name} --url {server.Url} --auth oauth --client-id <id> --client-secret <secret> (remove the server first, or use apply).");
        }

        var wantsRefresh = server.OAuth?.Grant != UpstreamOAuthGrant.ClientCredentials;
        var request = new ClientRegistrationRequest(
            ClientName: services.Options.ClientName,
            RedirectUris: [redirect],
            GrantTypes: wantsRefresh ? ["authorization_code", "refresh_token"] : ["client_credentials"],
            ResponseTypes: wantsRefresh ? ["code"] : [],
            TokenEndpointAuthMethod: ClientRegistrationClient.ChooseAuthMethod(metadata),
            Scope: null, ClientUri: null, SoftwareId: "gatehouse", SoftwareVersion: "1");
        var registered = await services.Registration.RegisterAsync(metadata, request, UpstreamAuthServices.PolicyFor(server), ct);
        var record = new OAuthClientRecord
        {
            Id = Guid.NewGuid(),
            Issuer = issuer,
            RedirectUri = redirect,
            ClientId = registered.ClientId,
            ClientSecretSealed = registered.ClientSecret is { } secret ? services.Vault.Protect(secret) : null,
            AuthMethod = registered.TokenEndpointAuthMethod,
            Source = Dynamic,
            RegistrationAccessTokenSealed = registered.RegistrationAccessToken is { } rat ? services.Vault.Protect(rat) : null,
            ClientSecretExpiresAt = registered.ClientSecretExpiresAt,
            CreatedAt = now,
        };
        db.OAuthClients.Add(record);
        await db.SaveChangesAsync(ct);
        return new ResolvedClient(ToCredentials(record), Dynamic);
    }

    /// <summary>The client a stored connection was made with (for refresh and revocation).</summary>
    public async Task<ClientCredentials?> ForConnectionAsync(ServerDefinition server, AuthorizationServerMetadata metadata, string? source, string? clientId, string? issuer, CancellationToken ct)
    {
        switch (source)
        {
            case PreRegistered:
                return PreRegisteredClient(server, metadata)?.Credentials;
            case Cimd:
                return clientId is null ? null : new ClientCredentials(clientId, null, "none");
            default:
                await using (var db = services.Storage.CreateContext())
                {
                    var stored = await db.OAuthClients.AsNoTracking().FirstOrDefaultAsync(c => c.Issuer == issuer && c.ClientId == clientId, ct);
                    return stored is null ? null : ToCredentials(stored);
                }
        }
    }

    /// <summary>Forgets a dynamic registration the authorization server no longer knows (<c>invalid_client</c>), so the next connect registers again.</summary>
    public async Task ForgetAsync(string? issuer, string? clientId, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        await db.OAuthClients.Where(c => c.Issuer == issuer && c.ClientId == clientId && c.Source == Dynamic).ExecuteDeleteAsync(ct);
    }

    private ResolvedClient? PreRegisteredClient(ServerDefinition server, AuthorizationServerMetadata metadata)
    {
        if (server.OAuth is not { ClientId: { } clientId } settings)
        {
            return null;
        }

        var secret = settings.ProtectedClientSecret is { } sealedSecret ? services.Vault.Unprotect(sealedSecret) : null;
        var key = settings.ProtectedPrivateKey is { } sealedKey ? services.Vault.Unprotect(sealedKey) : null;
        var method = settings.TokenEndpointAuthMethod
            ?? (key is not null ? "private_key_jwt"
                : secret is null ? "none"
                : metadata.TokenEndpointAuthMethodsSupported is { Count: > 0 } methods && !methods.Contains("client_secret_basic") && methods.Contains("client_secret_post")
                    ? "client_secret_post" : "client_secret_basic");
        return new ResolvedClient(new ClientCredentials(clientId, secret, method) { PrivateKeyPem = key, KeyId = settings.PrivateKeyId }, PreRegistered);
    }

    private ClientCredentials ToCredentials(OAuthClientRecord record) =>
        new(record.ClientId, record.ClientSecretSealed is { } secret ? services.Vault.Unprotect(secret) : null, record.AuthMethod);
}

/// <summary>A connection could not be made; the message says why and what to do.</summary>
public sealed class ConnectException(string message, Exception? inner = null) : Exception(message, inner);
