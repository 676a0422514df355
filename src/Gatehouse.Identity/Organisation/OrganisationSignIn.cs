namespace Gatehouse.Identity.Organisation;

/// <summary>Names and paths of signing in with the organisation's OpenID Connect identity provider.</summary>
public static class OrganisationSignIn
{
    /// <summary>The OpenID Connect authentication scheme.</summary>
    public const string Scheme = "Gatehouse.Organisation";

    /// <summary>Where the login page's button goes: starts the authorization code flow at the provider.</summary>
    public const string StartPath = "/oauth2/login/oidc";

    /// <summary>The redirect URI path to register at the provider (under <c>/oauth2</c>, where authentication runs).</summary>
    public const string CallbackPath = "/oauth2/login/oidc/callback";

    /// <summary>The user kind of people who sign in through the provider.</summary>
    public const string UserKind = "oidc";

    /// <summary>The scopes requested: <c>openid profile email</c> and the configured extra ones.</summary>
    public static IEnumerable<string> Scopes(string? extraScopes) =>
        new[] { "openid", "profile", "email" }.Concat((extraScopes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal);
}
