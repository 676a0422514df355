using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Registration;

/// <summary>
/// What a client's metadata must satisfy, whether it arrives by dynamic registration or as a Client ID Metadata Document,
/// and the OpenIddict application Gatehouse stores for it.
/// </summary>
/// <remarks>One set of rules for both paths, so a client cannot get through one what the other refuses.</remarks>
internal static class ClientMetadataRules
{
    public const string InvalidClientMetadata = "invalid_client_metadata";
    public const string InvalidRedirectUri = "invalid_redirect_uri";
    public const int MaxRedirectUris = 10;
    public const int MaxNameLength = 200;

    /// <summary>Null when the redirect URIs, grant and response types and name are acceptable; else the RFC 7591 error and why.</summary>
    public static (string Error, string Description)? Check(ClientMetadata metadata, ISet<string> allowedRedirectSchemes)
    {
        if (metadata.RedirectUris is not { Count: > 0 and <= MaxRedirectUris } redirectUris)
        {
            return (InvalidRedirectUri, $"redirect_uris must list between 1 and {MaxRedirectUris} URIs.");
        }

        foreach (var uri in redirectUris)
        {
            if (RedirectUriRules.Check(uri, allowedRedirectSchemes) is { } problem)
            {
                return (InvalidRedirectUri, $"Redirect URI refused: {problem}.");
            }
        }

        if (metadata.GrantTypes?.FirstOrDefault(g => g is not (GrantTypes.AuthorizationCode or GrantTypes.RefreshToken)) is { } grant)
        {
            return (InvalidClientMetadata, $"grant type '{grant}' is not supported; only authorization_code and refresh_token are.");
        }

        if (metadata.ResponseTypes?.FirstOrDefault(r => r is not ResponseTypes.Code) is { } responseType)
        {
            return (InvalidClientMetadata, $"response type '{responseType}' is not supported; only code is.");
        }

        return Name(metadata)?.Length > MaxNameLength
            ? (InvalidClientMetadata, $"client_name is longer than {MaxNameLength} characters.")
            : null;
    }

    /// <summary>The trimmed client name, or null when there is none.</summary>
    public static string? Name(ClientMetadata metadata) => string.IsNullOrWhiteSpace(metadata.ClientName) ? null : metadata.ClientName.Trim();

    /// <summary>
    /// Fills <paramref name="descriptor"/> for a client that may only use the authorization code flow with PKCE, refresh
    /// tokens and revocation, for the <c>mcp</c> and <c>offline_access</c> scopes.
    /// </summary>
    public static void Describe(OpenIddictApplicationDescriptor descriptor, string clientId, string? secret, string displayName, IReadOnlyCollection<string> redirectUris)
    {
        descriptor.ClientId = clientId;
        descriptor.ClientSecret = secret;
        descriptor.ClientType = secret is null ? ClientTypes.Public : ClientTypes.Confidential;
        descriptor.ApplicationType = redirectUris.All(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)) ? ApplicationTypes.Web : ApplicationTypes.Native;
        descriptor.ConsentType = ConsentTypes.Explicit;
        descriptor.DisplayName = displayName;
        descriptor.Permissions.Clear();
        descriptor.Permissions.UnionWith(
        [
            Permissions.Endpoints.Authorization,
            Permissions.Endpoints.Token,
            Permissions.Endpoints.Revocation,
            Permissions.GrantTypes.AuthorizationCode,
            Permissions.GrantTypes.RefreshToken,
            Permissions.ResponseTypes.Code,
            Permissions.Prefixes.Scope + Interaction.AuthorizationEndpoints.McpScope,
            Permissions.Prefixes.Scope + Scopes.OfflineAccess,
        ]);
        descriptor.Requirements.Clear();
        descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        descriptor.RedirectUris.Clear();
        foreach (var uri in redirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri, UriKind.Absolute));
        }
    }

    /// <summary>The distinct hosts (with ports) of the redirect URIs, for audit records and the consent page.</summary>
    public static string RedirectHosts(IEnumerable<string> redirectUris) => string.Join(", ", redirectUris.Select(u => new Uri(u).Authority).Distinct());
}
