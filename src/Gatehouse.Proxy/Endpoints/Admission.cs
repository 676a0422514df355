using Gatehouse.Core.Configuration;
using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Errors;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>The first steps of every request: Host/Origin check, authentication, server resolution.</summary>
public sealed class Admission(
    IGatewaySnapshotSource snapshots, HostOriginValidator hostValidator, IGrantUsageRecorder usage, TimeProvider time,
    ProtectedResourceMetadata metadata, ILogger<Admission> logger)
{
    /// <summary>Admits the request or writes the rejection and returns null.</summary>
    public async Task<AdmittedRequest?> AdmitAsync(HttpContext context, string serverName)
    {
        if (hostValidator.Validate(context.Request) is { } hostError)
        {
            await RejectAsync(context, serverName, hostError);
            return null;
        }

        var snapshot = snapshots.Current;
        var now = time.GetUtcNow();
        var (principal, authError) = GrantAuthenticator.Authenticate(snapshot, serverName, context.Request.Headers.Authorization.ToString(), now);
        if (authError is not null)
        {
            var challenge = $"Bearer resource_metadata=\"{metadata.MetadataUrl(context.Request, serverName)}\"";
            if (authError.Id != GatewayErrorId.MissingCredential)
            {
                challenge += $", error=\"invalid_token\", error_description=\"{authError.Message.Replace('"', '\'')}\"";
            }

            context.Response.Headers.WWWAuthenticate = challenge;
            await RejectAsync(context, serverName, authError);
            return null;
        }

        if (!snapshot.ServersByName.TryGetValue(serverName, out var server))
        {
            await RejectAsync(context, serverName, GatewayErrors.UnknownServer(serverName));
            return null;
        }

        if (!server.Enabled)
        {
            await RejectAsync(context, serverName, GatewayErrors.ServerDisabled(serverName));
            return null;
        }

        usage.Record(principal!.Grant.Id, now);
        context.Features.Get<ProxyExchange>()?.Principal = principal;
        return new AdmittedRequest(principal, server, snapshot.PolicyFor(server, principal.Grant));
    }

    /// <summary>Writes a rejection and logs it (code only, never the credential).</summary>
    public Task RejectAsync(HttpContext context, string serverName, GatewayError error, string? rawId = null)
    {
        ProxyLog.Rejected(logger, context.Request.Method, serverName, error.Code, error.HttpStatus);
        ExchangeRecorder.NoteError(context, error);
        return ErrorResponses.WriteAsync(context, error, rawId, serverName);
    }
}
