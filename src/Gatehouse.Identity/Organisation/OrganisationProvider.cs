using Gatehouse.Core.Security;
using Gatehouse.Identity.Interaction;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gatehouse.Identity.Organisation;

/// <summary>
/// Builds the OpenID Connect handler's options from the identity provider stored in the database, and rebuilds them
/// when <c>gatehouse login-provider set|remove</c> changed it: no restart needed.
/// </summary>
/// <remarks>
/// The handler reads its options from <see cref="IOptionsMonitorCache{TOptions}"/> on every request. The login page and
/// the start of a sign-in compare the stored setting (one small row) with the one the cached options were built from and
/// evict them when it moved; the next request builds them again here, with a new discovery cache. The callback never
/// evicts, so a sign-in completes with the options it started with.
/// </remarks>
public sealed partial class OrganisationProvider(
    GatehouseStorage storage, ISecretProtector protector, AuthorizationServerOptions server, IOptionsMonitorCache<OpenIdConnectOptions> cache,
    ILogger<OrganisationProvider> logger)
    : IConfigureNamedOptions<OpenIdConnectOptions>
{
    // Unconfigured, the handler still needs options that validate: it runs for every /oauth2 request, and only ever
    // fetches from this address when a sign-in starts, which the start endpoint refuses without a provider.
    private const string UnconfiguredAuthority = "https://login-provider.invalid/";

    private volatile Built? _built;

    /// <summary>The provider the handler's current options were built from, or null when none is configured.</summary>
    public LoginProviderSettings? Current => _built?.Settings;

    /// <summary>Reads the stored provider; evicts the handler's options when it differs from the one they were built from.</summary>
    public async Task<LoginProviderSettings?> RefreshAsync(GatehouseDbContext db, CancellationToken ct)
    {
        var stored = await LoginProviderSettings.ReadStoredAsync(db, ct);
        if (_built is not { } built || built.Stored != stored)
        {
            cache.TryRemove(OrganisationSignIn.Scheme);
        }

        return LoginProviderSettings.Parse(stored);
    }

    /// <inheritdoc />
    public void Configure(string? name, OpenIdConnectOptions options)
    {
        if (name == OrganisationSignIn.Scheme)
        {
            Configure(options);
        }
    }

    /// <inheritdoc />
    public void Configure(OpenIdConnectOptions options)
    {
        string? stored;
        using (var db = storage.CreateContext())
        {
            stored = LoginProviderSettings.ReadStored(db);
        }

        var settings = LoginProviderSettings.Parse(stored);
        _built = new Built(stored, settings);

        options.SignInScheme = LoginScheme.Name;
        options.CallbackPath = OrganisationSignIn.CallbackPath;
        options.EventsType = typeof(OrganisationSignInEvents);
        options.ResponseType = OpenIdConnectResponseType.Code;
        // The code comes back on a top-level GET, so the SameSite=Lax correlation and nonce cookies travel with it.
        options.ResponseMode = OpenIdConnectResponseMode.Query;
        options.UsePkce = true;
        options.SaveTokens = false;
        options.MapInboundClaims = false;
        options.PushedAuthorizationBehavior = PushedAuthorizationBehavior.Disable;
        // Many providers release profile and group claims only at the userinfo endpoint.
        options.GetClaimsFromUserInfoEndpoint = true;
        options.ClaimActions.MapUniqueJsonKey("preferred_username", "preferred_username");
        options.TokenValidationParameters.NameClaimType = "name";
        foreach (var cookie in new[] { options.CorrelationCookie, options.NonceCookie })
        {
            cookie.SameSite = SameSiteMode.Lax;
            cookie.SecurePolicy = server.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        }

        if (settings is null)
        {
            options.Authority = UnconfiguredAuthority;
            options.ClientId = "unconfigured";
            return;
        }

        options.Authority = settings.Issuer;
        options.ClientId = settings.ClientId;
        try
        {
            options.ClientSecret = protector.Unprotect(settings.ProtectedClientSecret);
        }
        catch (System.Security.Cryptography.CryptographicException problem)
        {
            // These options serve every /oauth2 request: an unreadable secret must cost only the sign-in through the
            // provider (which the provider then refuses), not the whole authorization server.
            SecretUnreadable(logger, settings.Issuer, problem.Message);
            options.ClientSecret = null;
        }
        options.RequireHttpsMetadata = !settings.AllowLoopback;
        options.BackchannelHttpHandler = server.OrganisationBackchannel?.Invoke(settings.AllowLoopback);
        options.TokenValidationParameters.ValidIssuers = [settings.Issuer, settings.Issuer.TrimEnd('/')];
        options.ClaimActions.MapJsonKey(settings.GroupsClaim, settings.GroupsClaim);
        options.Scope.Clear();
        foreach (var scope in OrganisationSignIn.Scopes(settings.Scopes))
        {
            options.Scope.Add(scope);
        }
    }

    private sealed record Built(string? Stored, LoginProviderSettings? Settings);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Error,
        Message = "The client secret of the identity provider {Issuer} cannot be opened ({Reason}); sign-in through it will fail. Run 'gatehouse login-provider set' again with the secret, or restore the master key")]
    private static partial void SecretUnreadable(ILogger logger, string issuer, string reason);
}
