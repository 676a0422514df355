using Gatehouse.Storage.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace Gatehouse.Identity.Server;

/// <summary>
/// OpenIddict's token manager, which also tells running gateways when it revoked something. Access tokens are checked
/// locally by the proxy; each revocation (a withdrawn approval, a replayed refresh token revoking its family, RFC 7009,
/// offboarding) reloads the snapshot, whose revoked-token set then refuses them on the next request instead of letting
/// them run until they expire.
/// </summary>
public sealed class RevocationSignallingTokenManager(
    IOpenIddictTokenCache<OpenIddictEntityFrameworkCoreToken> cache, ILogger<OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options, IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken> store, ConfigurationChanges changes)
    : OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>(cache, logger, options, store)
{
    /// <inheritdoc />
    public override async ValueTask<bool> TryRevokeAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default) =>
        await SignalAsync(await base.TryRevokeAsync(token, cancellationToken) ? 1 : 0, cancellationToken) > 0;

    /// <inheritdoc />
    public override async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken = default) =>
        await SignalAsync(await base.RevokeByAuthorizationIdAsync(identifier, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override async ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken = default) =>
        await SignalAsync(await base.RevokeBySubjectAsync(subject, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override async ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken = default) =>
        await SignalAsync(await base.RevokeByApplicationIdAsync(identifier, cancellationToken), cancellationToken);

    private async ValueTask<long> SignalAsync(long revoked, CancellationToken ct)
    {
        if (revoked > 0)
        {
            await changes.BumpAsync(ct);
        }

        return revoked;
    }
}

/// <summary>
/// OpenIddict's authorization manager, which also tells running gateways when it revoked an authorization: the snapshot
/// refuses every access token of a revoked authorization, whether or not the token entries themselves were revoked.
/// </summary>
public sealed class RevocationSignallingAuthorizationManager(
    IOpenIddictAuthorizationCache<OpenIddictEntityFrameworkCoreAuthorization> cache,
    ILogger<OpenIddictAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization>> logger, IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization> store, ConfigurationChanges changes)
    : OpenIddictAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization>(cache, logger, options, store)
{
    /// <inheritdoc />
    public override async ValueTask<bool> TryRevokeAsync(OpenIddictEntityFrameworkCoreAuthorization authorization, CancellationToken cancellationToken = default)
    {
        var revoked = await base.TryRevokeAsync(authorization, cancellationToken);
        if (revoked)
        {
            await changes.BumpAsync(cancellationToken);
        }

        return revoked;
    }

    /// <inheritdoc />
    public override async ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken = default)
    {
        var revoked = await base.RevokeBySubjectAsync(subject, cancellationToken);
        if (revoked > 0)
        {
            await changes.BumpAsync(cancellationToken);
        }

        return revoked;
    }

    /// <inheritdoc />
    public override async ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        var revoked = await base.RevokeByApplicationIdAsync(identifier, cancellationToken);
        if (revoked > 0)
        {
            await changes.BumpAsync(cancellationToken);
        }

        return revoked;
    }
}
