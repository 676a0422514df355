using System.Text.RegularExpressions;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;

namespace Gatehouse.Admin.Administration;

/// <summary>The organisation's identity provider as the admin gives it; the client secret in plaintext until sealed.</summary>
/// <param name="Issuer">The issuer URL.</param>
/// <param name="ClientId">Gatehouse's client id at the provider.</param>
/// <param name="ClientSecret">Gatehouse's client secret at the provider.</param>
/// <param name="GroupsClaim">The claim that lists groups (<c>groups</c> when null).</param>
/// <param name="Scopes">Extra scopes, space-separated.</param>
/// <param name="DisplayName">The button's name (the issuer's host when null).</param>
/// <param name="AllowLoopback">Permit plain http on a loopback issuer.</param>
public sealed record LoginProviderSpec(string Issuer, string ClientId, string ClientSecret, string? GroupsClaim, string? Scopes, string? DisplayName, bool AllowLoopback);

/// <summary>The configured identity provider, without its secret.</summary>
/// <param name="Issuer">The issuer URL.</param>
/// <param name="ClientId">Gatehouse's client id at the provider.</param>
/// <param name="GroupsClaim">The claim that lists groups.</param>
/// <param name="Scopes">Scopes requested besides <c>openid profile email</c>.</param>
/// <param name="Name">The login page's button says "Sign in with" this.</param>
/// <param name="AllowLoopback">Plain http on a loopback issuer is permitted.</param>
/// <param name="ClientSecret">Always <c>sealed</c>: the secret is never shown.</param>
public sealed record LoginProviderView(string Issuer, string ClientId, string GroupsClaim, string? Scopes, string Name, bool AllowLoopback, string ClientSecret = "sealed");

public sealed partial class GatewayAdministration
{
    /// <summary>The claim name used for groups when none is given.</summary>
    public const string DefaultGroupsClaim = "groups";

    /// <summary>Configures (or replaces) the organisation's identity provider; the secret is sealed.</summary>
    public async Task<AdminResult<LoginProviderView>> SetLoginProviderAsync(LoginProviderSpec spec, string actor, CancellationToken ct = default)
    {
        if (ValidateLoginProvider(spec) is { } problem)
        {
            return AdminResult<LoginProviderView>.Fail(AdminFailure.Invalid, problem);
        }

        var scopes = spec.Scopes is null ? null : string.Join(' ', spec.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal));
        var settings = new LoginProviderSettings(
            spec.Issuer.Trim(), spec.ClientId.Trim(), vault.Protect(spec.ClientSecret), spec.GroupsClaim?.Trim() ?? DefaultGroupsClaim,
            string.IsNullOrEmpty(scopes) ? null : scopes, spec.DisplayName?.Trim() is { Length: > 0 } name ? name : new Uri(spec.Issuer).Host, spec.AllowLoopback);
        await settings.StageAsync(db, time.GetUtcNow(), ct);
        var view = ToView(settings);
        await ConfigurationCommit.SaveAsync(db, time, onChanged, actor, "login-provider.set", $"login-provider ({view.Issuer})",
            $"client id {view.ClientId}; groups claim {view.GroupsClaim}; scopes {view.Scopes ?? "(none extra)"}; name {view.Name}", ct);
        return AdminResult<LoginProviderView>.Ok(view);
    }

    /// <summary>The configured identity provider, or null.</summary>
    public async Task<LoginProviderView?> GetLoginProviderAsync(CancellationToken ct = default) =>
        await LoginProviderSettings.LoadAsync(db, ct) is { } settings ? ToView(settings) : null;

    /// <summary>Removes the identity provider: its users can no longer sign in (their rows and grants stay).</summary>
    public async Task<AdminResult<string>> RemoveLoginProviderAsync(string actor, CancellationToken ct = default)
    {
        if (await LoginProviderSettings.LoadAsync(db, ct) is not { } settings || !await LoginProviderSettings.StageRemovalAsync(db, ct))
        {
            return AdminResult<string>.Fail(AdminFailure.NotFound, "No login provider is configured. 'gatehouse login-provider set' configures one.");
        }

        await ConfigurationCommit.SaveAsync(db, time, onChanged, actor, "login-provider.remove", $"login-provider ({settings.Issuer})", null, ct);
        return AdminResult<string>.Ok(settings.Issuer);
    }

    private static LoginProviderView ToView(LoginProviderSettings s) => new(s.Issuer, s.ClientId, s.GroupsClaim, s.Scopes, s.DisplayName, s.AllowLoopback);

    private static string? ValidateLoginProvider(LoginProviderSpec spec)
    {
        if (!Uri.TryCreate(spec.Issuer.Trim(), UriKind.Absolute, out var issuer) || !string.IsNullOrEmpty(issuer.Query) || !string.IsNullOrEmpty(issuer.Fragment)
            || !string.IsNullOrEmpty(issuer.UserInfo))
        {
            return $"The issuer '{spec.Issuer}' is not an absolute URL without query, fragment or credentials (e.g. https://login.example.com).";
        }

        if (issuer.Scheme != Uri.UriSchemeHttps)
        {
            if (issuer.Scheme != Uri.UriSchemeHttp || !issuer.IsLoopback)
            {
                return $"The issuer must use https (got '{issuer.Scheme}://{issuer.Authority}'); plain http is accepted only on a loopback address with --allow-loopback.";
            }

            if (!spec.AllowLoopback)
            {
                return "The issuer is plain http on a loopback address: add --allow-loopback to accept that (development and tests only).";
            }
        }

        if (string.IsNullOrWhiteSpace(spec.ClientId))
        {
            return "The client id is empty; give the one the identity provider assigned to Gatehouse (--client-id).";
        }

        if (string.IsNullOrEmpty(spec.ClientSecret))
        {
            return "The client secret is empty; put it in an environment variable or a file (--client-secret-env VAR or --client-secret-file PATH).";
        }

        if (spec.GroupsClaim is { } claim && !ClaimName().IsMatch(claim.Trim()))
        {
            return $"The groups claim '{claim}' is not a claim name (letters, digits, '_', '-', ':', '/', '.').";
        }

        if (spec.Scopes is { } scopes && scopes.Any(c => c is '"' or '\\' || char.IsControl(c)))
        {
            return "The scopes are space-separated names without quotes, backslashes or control characters.";
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_:/.\\-]{1,128}$")]
    private static partial Regex ClaimName();
}
