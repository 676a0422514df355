using System.Runtime.CompilerServices;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Security;

namespace Gatehouse.Proxy.Authentication;

/// <summary>Turns an Authorization header into a <see cref="GatewayPrincipal"/> for one server, or a rejection.</summary>
/// <remarks>Pure: the snapshot and the clock are given, so every outcome is unit-testable.</remarks>
public static class GrantAuthenticator
{
    // A principal is immutable and follows from its grant alone, so it is built once per grant object instead of per
    // request (that cost a Guid format, a concatenation and the record). Keyed weakly: a reload builds new grant
    // objects, and the old ones and their principals are collected with the old snapshot.
    private static readonly ConditionalWeakTable<Grant, GatewayPrincipal> Principals = new();

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

        // The checksum check costs a SHA-256 of its own, so the lookup goes first: a token whose hash is stored is
        // equal to a token Gatehouse issued, so it is well-formed. The full check runs only on a miss, to tell a
        // malformed token from an unknown one exactly as before. The length and prefix are checked first so that
        // only token-sized input is ever hashed.
        if (token.Length != SecretToken.Length || !token.StartsWith(GrantToken.Prefix, StringComparison.Ordinal))
        {
            return (null, GatewayErrors.MalformedCredential());
        }

        if (!snapshot.GrantsByTokenHash.TryGetValue(GrantToken.Hash(token), out var grant))
        {
            return (null, GrantToken.IsWellFormed(token) ? GatewayErrors.UnknownCredential() : GatewayErrors.MalformedCredential());
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

        return (Principals.GetValue(grant, static g => new GatewayPrincipal("grant:" + g.Id.ToString("N"), g.Label, g)), null);
    }
}
