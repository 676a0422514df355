using Gatehouse.Core.Errors;

namespace Gatehouse.Proxy.Authentication;

/// <summary>
/// Validates access tokens issued by Gatehouse's own authorization server (the bearer that is not a grant token).
/// </summary>
/// <remarks>
/// The proxy knows only this contract; the authorization server (Gatehouse.Identity) implements it, so the proxy does not
/// depend on OpenIddict. When none is registered, only grant tokens are accepted and no authorization server is advertised.
/// </remarks>
public interface IAccessTokenAuthenticator
{
    /// <summary>
    /// Validates <paramref name="token"/> (signature, <paramref name="issuer"/>, lifetime, audience == <paramref name="resource"/>)
    /// for <paramref name="serverName"/>.
    /// </summary>
    ValueTask<(GatewayPrincipal? Principal, GatewayError? Error)> AuthenticateAsync(
        string token, string issuer, string resource, string serverName, CancellationToken cancellationToken);
}
