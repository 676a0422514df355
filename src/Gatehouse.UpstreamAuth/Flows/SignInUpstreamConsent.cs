using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.UpstreamAuth.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>
/// Sends a person signing in to Gatehouse through the upstream consent of a per-user server they have not connected
/// yet, so the client they sign in with can use the server on its first call.
/// </summary>
/// <remarks>
/// Best effort by design: when the upstream cannot be reached or discovered, the sign-in goes on without it and the
/// first call answers with a connect link instead (URL elicitation or an error carrying the URL), as before.
/// The flow is bound to the browser signing in (<see cref="FlowBrowserBinding"/>): the authorization request's response
/// carries the binding cookie, reached through <see cref="IHttpContextAccessor"/> because the sign-in contract lives in
/// Core, which knows nothing of HTTP.
/// </remarks>
public sealed class SignInUpstreamConsent(ConnectFlows flows, UpstreamAuthServices services, IHttpContextAccessor http, ILogger<SignInUpstreamConsent> logger)
    : IUpstreamConsentDuringSignIn
{
    /// <inheritdoc />
    public async Task<Uri?> StartIfNeededAsync(string serverName, string userId, string returnPath, CancellationToken ct)
    {
        var server = await flows.FindServerAsync(serverName, ct);
        if (server is not { AuthMode: UpstreamAuthMode.OAuth, OAuth: { PerUser: true, Grant: UpstreamOAuthGrant.AuthorizationCode } })
        {
            return null;
        }

        if (http.HttpContext is not { } context)
        {
            // Not in a browser request: nothing to bind a flow to, so no detour.
            return null;
        }

        var owner = new ConnectionOwner(ConnectionOwnerKind.User, userId);
        await using (var db = services.Storage.CreateContext())
        {
            var kind = owner.KindName;
            var status = await db.UpstreamConnections.AsNoTracking()
                .Where(c => c.ServerId == server.Id && c.OwnerKind == kind && c.OwnerId == userId)
                .Select(c => c.Status).FirstOrDefaultAsync(ct);
            if (ConnectionStatusNames.Parse(status) == ConnectionStatus.Connected)
            {
                return null;
            }
        }

        try
        {
            var binding = FlowBrowserBinding.Bind(context, FlowBrowserBinding.IsSecure(context, services.PublicBaseUrl), ConnectEndpoints.BindingLifetime(services));
            var start = await flows.StartAsync(server, owner, "sign-in", null, returnPath, binding, ct);
            return start.AuthorizationUrl;
        }
        catch (ConnectException ex)
        {
            logger.LogWarning("Sign-in for per-user server {Server} goes on without connecting it first: {Reason}", server.Name, ex.Message);
            return null;
        }
    }
}
