using Microsoft.AspNetCore.Builder;
using Gatehouse.Identity;
using Gatehouse.Identity.Interaction;
using Gatehouse.Core.Security;
using Gatehouse.Identity.Keys;
using Gatehouse.Identity.Organisation;
using Gatehouse.Identity.Sessions;
using Gatehouse.Identity.Registration;
using Gatehouse.Identity.Server;
using Gatehouse.Identity.Users;
using Gatehouse.Identity.Validation;
using Gatehouse.Proxy;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Gatehouse's authorization server.</summary>
public static class IdentityServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Gatehouse database context and OpenIddict's core managers over it (clients, consents, tokens), without the
    /// server: what the CLI needs to revoke a user's tokens.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="storage">The Gatehouse storage.</param>
    public static OpenIddictBuilder AddGatehouseIdentityStores(this IServiceCollection services, GatehouseStorage storage)
    {
        services.AddDbContext<GatehouseDbContext>(o => o.UseSqlite(storage.ConnectionString));
        services.TryAddSingleton(TimeProvider.System);
        // The host registers its own (which also reloads its snapshot); a CLI process only moves the change stamp.
        services.TryAddSingleton(new ConfigurationChanges(storage, storage.TouchChangeStamp));
        services.AddScoped<ConsentDirectory>();
        return services.AddOpenIddict().AddCore(core =>
        {
            core.UseEntityFrameworkCore().UseDbContext<GatehouseDbContext>();
            core.ReplaceTokenManager<OpenIddictEntityFrameworkCoreToken, RevocationSignallingTokenManager>()
                .ReplaceAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization, RevocationSignallingAuthorizationManager>();
        });
    }

    /// <summary>
    /// Adds the OAuth 2.1 authorization server (OpenIddict, EF Core stores in the Gatehouse database), the login and
    /// consent pages, dynamic client registration, and the access-token validator the proxy uses.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="storage">The Gatehouse storage (the OpenIddict stores use its database).</param>
    /// <param name="keys">The persisted signing and encryption keys.</param>
    /// <param name="verifyAdminToken">Checks an admin token typed on the login page (the bootstrap admin's credential).</param>
    /// <param name="configure">Adjusts the options.</param>
    public static IServiceCollection AddGatehouseAuthorizationServer(
        this IServiceCollection services, GatehouseStorage storage, AuthorizationServerKeys keys,
        Func<string, CancellationToken, Task<bool>> verifyAdminToken, Action<AuthorizationServerOptions>? configure = null)
    {
        var options = new AuthorizationServerOptions();
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddSingleton(keys);
        services.AddSingleton<ResourceIndicators>();
        services.AddSingleton<IAccessTokenAuthenticator, AccessTokenAuthenticator>();
        services.AddScoped<ClientRegistrationEndpoint>();
        services.AddRateLimiter(limiter => RegistrationRateLimit.Configure(limiter, options));
        services.AddSingleton<UnusedClientPurge>();
        services.AddSingleton<ClientCreationLimiter>();
        services.AddHostedService(sp => sp.GetRequiredService<UnusedClientPurge>());
        services.AddScoped<AccountEndpoints>();
        services.AddSingleton<ClientMetadataDocumentFetcher>();
        services.AddScoped(sp => ActivatorUtilities.CreateInstance<AuthorizationEndpoints>(sp, verifyAdminToken));
        services.AddSingleton<OrganisationProvider>();
        services.AddSingleton<IConfigureOptions<OpenIdConnectOptions>>(sp => sp.GetRequiredService<OrganisationProvider>());
        services.AddScoped<OrganisationSignInEvents>();

        services.AddGatehouseIdentityStores(storage)
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris("oauth2/authorize")
                    .SetTokenEndpointUris("oauth2/token")
                    .SetRevocationEndpointUris("oauth2/revoke")
                    .SetJsonWebKeySetEndpointUris("oauth2/jwks")
                    .SetConfigurationEndpointUris(".well-known/oauth-authorization-server", ".well-known/openid-configuration");
                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();
                server.RequireProofKeyForCodeExchange();
                server.RegisterScopes(AuthorizationEndpoints.McpScope, Scopes.OfflineAccess);
                // Resources are the servers' URLs, which change with the configuration: the authorize handler checks them.
                server.DisableResourceValidation().IgnoreResourcePermissions();
                server.SetAccessTokenLifetime(options.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(options.RefreshTokenLifetime)
                    .SetRefreshTokenReuseLeeway(options.RefreshTokenReuseLeeway);
                server.AddSigningKey(keys.SigningKey).AddEncryptionKey(keys.EncryptionKey);
                // The proxy validates access tokens itself (signature only), so they are signed JWTs, not encrypted ones.
                server.DisableAccessTokenEncryption();
                server.Configure(o =>
                {
                    // PKCE S256 only: 'plain' is refused and not advertised.
                    o.CodeChallengeMethods.Clear();
                    o.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
                });
                server.AddEventHandler(RegistrationMetadataHandler.Descriptor).AddEventHandler(UnknownClientHandler.Descriptor)
                    .AddEventHandler(ClientMetadataDocumentHandler.AuthorizationDescriptor).AddEventHandler(ClientMetadataDocumentHandler.TokenDescriptor);
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    // TLS is terminated in front of Gatehouse or Gatehouse runs on loopback; the issuer says which.
                    .DisableTransportSecurityRequirement();
            });
        services.AddOptions<OpenIddictServerOptions>().Configure<IOptions<ProxyOptions>>((server, proxy) =>
        {
            if (proxy.Value.PublicUrl is { } publicUrl)
            {
                server.Issuer = new Uri(publicUrl.GetLeftPart(UriPartial.Authority) + publicUrl.AbsolutePath.TrimEnd('/') + "/");
            }
        });

        services.AddAuthentication().AddCookie(LoginScheme.Name, cookie =>
        {
            cookie.Cookie.Name = LoginScheme.CookieName(options.SecureCookies);
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.Path = "/";
            cookie.Cookie.SecurePolicy = options.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = options.LoginSessionLifetime;
            cookie.SlidingExpiration = false;
            cookie.LoginPath = LoginScheme.LoginPath;
            cookie.Events.OnValidatePrincipal = LoginSessionValidation.ValidateAsync;
        }).AddOpenIdConnect(OrganisationSignIn.Scheme, static _ => { });
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = LoginScheme.AntiforgeryCookieName(options.SecureCookies);
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.Path = "/";
            antiforgery.Cookie.SecurePolicy = options.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            // The pages send CSP frame-ancestors 'none' and X-Frame-Options DENY themselves.
            antiforgery.SuppressXFrameOptionsHeader = true;
        });
        // Login cookies, antiforgery tokens and the OpenID Connect state are protected by keys every replica shares and a
        // restart keeps: sealed rows in the database. The application name is fixed so the replicas' purposes match.
        services.AddDataProtection().SetApplicationName("Gatehouse");
        services.AddOptions<KeyManagementOptions>().Configure<ISecretProtector, TimeProvider>(
            (keyManagement, protector, time) => keyManagement.XmlRepository = new SealedXmlRepository(storage, protector, time));
        return services;
    }
}
