namespace Gatehouse.Core.Security;

/// <summary>
/// Local users (<c>gatehouse user add</c>): people who sign in on the login page with a one-time sign-in token that an
/// admin handed them, for deployments (and tests) without an identity provider.
/// </summary>
/// <remarks>
/// Only the token's SHA-256 is stored, in the user row's <c>ExternalSubject</c> under the issuer <see cref="Issuer"/>;
/// signing in clears it, so each token works once. The browser session that follows is what the person keeps.
/// </remarks>
public static class LocalUserSignIn
{
    /// <summary>The user kind.</summary>
    public const string Kind = "local";

    /// <summary>The issuer recorded for local users.</summary>
    public const string Issuer = "gatehouse:local";

    /// <summary>The sign-in token prefix (Gatehouse user sign-in).</summary>
    public const string Prefix = "gtu_";

    /// <summary>A new one-time sign-in token.</summary>
    public static string CreateToken() => SecretToken.Create(Prefix);
}
