namespace Gatehouse.Core.Connections;

/// <summary>
/// Links a person's sign-in to Gatehouse with the upstream consent of a per-user server: when a client signs in for a
/// server whose connection the person lacks, the same browser flow passes through the upstream's authorization and comes
/// back before Gatehouse issues its code, so the client's first call already works (no elicitation needed).
/// </summary>
public interface IUpstreamConsentDuringSignIn
{
    /// <summary>
    /// Query parameter a sign-in carries after the person declined (or failed) the upstream consent: the sign-in then
    /// finishes without the connection instead of asking again.
    /// </summary>
    const string DeclinedParameter = "gatehouse_upstream_declined";

    /// <summary>
    /// Where to send the browser first: the upstream's authorization URL when <paramref name="serverName"/> is a per-user
    /// OAuth server and <paramref name="userId"/> has no working connection to it; null when nothing is needed (or the
    /// server cannot be connected in a browser). The upstream callback sends the browser on to <paramref name="returnPath"/>.
    /// </summary>
    /// <param name="serverName">The server the client signs in for.</param>
    /// <param name="userId">The Gatehouse user signing in.</param>
    /// <param name="returnPath">A path on Gatehouse (the authorization request) to continue to afterwards.</param>
    /// <param name="ct">Cancellation.</param>
    Task<Uri?> StartIfNeededAsync(string serverName, string userId, string returnPath, CancellationToken ct);
}
