namespace Gatehouse.UpstreamAuth.Net;

/// <summary>
/// The rules of <see cref="GuardedHttpClient"/> as an <see cref="HttpMessageHandler"/>, for libraries that bring their own
/// HTTP client (the OpenID Connect handler's discovery, JWKS, token and userinfo requests): each request's URL is
/// checked before sending, each resolved address at connect time; no proxy, no cookies, no redirects.
/// </summary>
/// <param name="policy">Which targets are allowed.</param>
/// <param name="connectTimeout">How long a connection attempt may take.</param>
public sealed class GuardedHttpMessageHandler(OutboundUrlPolicy policy, TimeSpan connectTimeout)
    : DelegatingHandler(GuardedHttpClient.CreateSocketsHandler(policy, connectTimeout))
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        OutboundTargetRules.EnsureAllowed(request.RequestUri ?? throw new ArgumentException("The request has no URL.", nameof(request)), policy);
        return base.SendAsync(request, cancellationToken);
    }
}
