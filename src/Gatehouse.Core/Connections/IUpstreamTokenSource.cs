using Gatehouse.Core.Errors;
using Gatehouse.Core.Servers;

namespace Gatehouse.Core.Connections;

/// <summary>An upstream access token as the proxy holds it for one outgoing request.</summary>
/// <param name="Value">The bearer token; never logged (see <see cref="ToString"/>).</param>
/// <param name="Version">The connection's token version it came from, so a rejection can tell whether it is already stale.</param>
public readonly record struct UpstreamToken(string Value, long Version)
{
    /// <inheritdoc />
    public override string ToString() => $"upstream token v{Version}";
}

/// <summary>A token to send, or the error the client gets instead.</summary>
/// <param name="Token">The token, when there is one.</param>
/// <param name="Error">Why there is none.</param>
public readonly record struct UpstreamTokenResult(UpstreamToken? Token, GatewayError? Error)
{
    /// <summary>A usable token.</summary>
    public static UpstreamTokenResult Of(UpstreamToken token) => new(token, null);

    /// <summary>No token: the client gets <paramref name="error"/>.</summary>
    public static UpstreamTokenResult Fail(GatewayError error) => new(null, error);
}

/// <summary>
/// Supplies the access tokens of OAuth upstreams at the boundary: refreshed before expiry, renewed after a rejection,
/// widened on a scope challenge. The proxy never stores or shows them.
/// </summary>
public interface IUpstreamTokenSource
{
    /// <summary>A token valid for at least the refresh margin, refreshing first when needed (one refresh per connection at a time).</summary>
    ValueTask<UpstreamTokenResult> GetAsync(ServerDefinition server, ConnectionOwner owner, CancellationToken cancellationToken);

    /// <summary>The upstream answered 401 to <paramref name="rejected"/>: refresh (unless someone already did) and return the token to retry with once.</summary>
    ValueTask<UpstreamTokenResult> RenewAfterRejectionAsync(ServerDefinition server, ConnectionOwner owner, UpstreamToken rejected, CancellationToken cancellationToken);

    /// <summary>
    /// The upstream answered 403 <c>insufficient_scope</c> with <paramref name="challenge"/> (its <c>WWW-Authenticate</c> value): obtain a
    /// token with the union of scopes where no person is needed (client credentials) and return it to retry with once; otherwise the
    /// error naming the connect URL. Bounded: after a few authorizations that did not satisfy the upstream, Gatehouse stops asking.
    /// </summary>
    ValueTask<UpstreamTokenResult> StepUpAsync(ServerDefinition server, ConnectionOwner owner, UpstreamToken rejected, string challenge, CancellationToken cancellationToken);
}
