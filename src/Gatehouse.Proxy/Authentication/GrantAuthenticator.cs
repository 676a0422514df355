using Gatehouse.Core.Configuration;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Grants;

namespace Gatehouse.Proxy.Authentication;

/// <summary>Turns an Authorization header into a <see cref="GatewayPrincipal"/> for one server, or a rejection.</summary>
/// <remarks>Pure: the snapshot and the clock are given, so every outcome is unit-testable.</remarks>
public static class GrantAuthenticator
{
    /// <summary>Authenticates <paramref name="authorization"/> for <paramref name="serverName"/>.</summary>
    public static (GatewayPrincipal? Principal, GatewayError? Error) Authenticate(
        GatewaySnapshot snapshot, string serverName, string? authorization, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return (null, GatewayErrors.MissingCredential(serverName));
        }

        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, GatewayErrors.MalformedCredential());
        }

        var token = authorization.AsSpan(scheme.Length).Trim();
        if (!GrantToken.IsWellFormed(token))
        {
            return (null, GatewayErrors.MalformedCredential());
        }

        if (!snapshot.GrantsByTokenHash.TryGetValue(GrantToken.Hash(token), out var grant))
        {
            return (null, GatewayErrors.UnknownCredential());
        }

        if (grant.RevokedAt is { } revokedAt)
        {
            return (null, GatewayErrors.CredentialRevoked(grant.Label, revokedAt));
        }

        if (grant.ExpiresAt is { } expiresAt && expiresAt <= now)
        {
            return (null, GatewayErrors.CredentialExpired(grant.Label, expiresAt));
        }

        if (!grant.Servers.Contains(serverName))
        {
            return (null, GatewayErrors.CredentialNotForServer(grant.Label, serverName));
        }

        return (new GatewayPrincipal("grant:" + grant.Id.ToString("N"), grant.Label, grant), null);
    }
}
