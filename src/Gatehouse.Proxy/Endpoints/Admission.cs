using Gatehouse.Core.Configuration;
using Gatehouse.Core.Decisions;
using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Errors;
using Gatehouse.Proxy.Logging;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Security;
using Gatehouse.Proxy.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>The first steps of every request: Host/Origin check, authentication, server resolution.</summary>
public sealed class Admission(
    IGatewaySnapshotSource snapshots, HostOriginValidator hostValidator, IGrantUsageRecorder usage, TimeProvider time,
    ProtectedResourceMetadata metadata, ILogger<Admission> logger, IAccessTokenAuthenticator? accessTokens = null,
    IDecisionLog? decisions = null, GatehouseTelemetry? telemetry = null)
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
        var authorization = context.Request.Headers.Authorization.ToString();
        var (principal, authError) = accessTokens is not null && IsAccessToken(authorization)
            ? await accessTokens.AuthenticateAsync(authorization[BearerScheme.Length..].Trim(), metadata.Issuer(context.Request),
                metadata.ResourceUrl(context.Request, serverName), serverName, context.RequestAborted)
            : GrantAuthenticator.Authenticate(snapshot, serverName, authorization, now);
        if (authError is null && DisabledOwner(snapshot, principal!) is { } disabledAt)
        {
            authError = GatewayErrors.UserDisabled(disabledAt);
        }
        else if (authError is null && principal!.AccessTokenId is { } tokenId && snapshot.RevokedAccessTokens.Contains(tokenId))
        {
            authError = GatewayErrors.AccessTokenRevoked();
        }

        if (authError is not null)
        {
            var challenge = $"Bearer resource_metadata=\"{metadata.MetadataUrl(context.Request, serverName)}\"";
            if (authError.Id != GatewayErrorId.MissingCredential)
            {
                challenge += $", error=\"invalid_token\", error_description=\"{Forwarding.HeaderText.QuotedStringContent(authError.Message)}\"";
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

        context.Features.Get<ProxyExchange>()?.Principal = principal;
        if (decisions?.Accepting == false)
        {
            // Fail closed: a request the decision log cannot record is not run. A read of two fields, never a wait.
            telemetry?.DecisionLogRefusals.Add(1, new KeyValuePair<string, object?>("server", server.Name));
            context.Response.Headers.RetryAfter = "1";
            await RejectAsync(context, serverName, GatewayErrors.DecisionLogUnavailable());
            return null;
        }

        if (principal!.Grant is { } grant)
        {
            usage.Record(grant.Id, now);
        }

        return new AdmittedRequest(principal, server, snapshot.PolicyFor(server, principal.Grant, UserOf(principal)));
    }

    private const string BearerScheme = "Bearer ";

    // A disabled user's access tokens stay validly signed until they expire, so the snapshot's (in-memory) list of disabled
    // users decides; a grant owned by a disabled user is refused the same way, even if it escaped revocation.
    private static DateTimeOffset? DisabledOwner(GatewaySnapshot snapshot, GatewayPrincipal principal)
    {
        if (snapshot.DisabledUsers.Count == 0)
        {
            return null;
        }

        var userId = principal.Grant?.OwnerUserId ?? UserOf(principal);
        return userId is { } u && snapshot.DisabledUsers.TryGetValue(u, out var at) ? at : null;
    }

    // The Gatehouse user behind an access token; null for a grant token (whose owner, if any, the grant itself names).
    private static Guid? UserOf(GatewayPrincipal principal) => Guid.TryParse(principal.UserId, out var id) ? id : null;

    // Grant tokens keep their path untouched: only a bearer that is not a grant token and looks like a JWT (two dots) is
    // handed to the access-token validator.
    private static bool IsAccessToken(string authorization)
    {
        if (!authorization.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var token = authorization.AsSpan(BearerScheme.Length).Trim();
        return !token.StartsWith(Gatehouse.Core.Grants.GrantToken.Prefix, StringComparison.Ordinal) && token.Count('.') == 2;
    }

    /// <summary>
    /// Writes <paramref name="error"/> as a URL elicitation, HTTP 200: error -32042 (2025-11-25), or an
    /// <c>input_required</c> result when <paramref name="inputRequired"/> (2026-07-28). Logged like any rejection.
    /// </summary>
    public async Task RejectWithUrlElicitationAsync(HttpContext context, string serverName, GatewayError error, string rawId, bool inputRequired = false)
    {
        ProxyLog.Rejected(logger, context.Request.Method, serverName, error.Code, StatusCodes.Status200OK);
        ExchangeRecorder.NoteError(context, error);
        var elicitationId = Guid.NewGuid().ToString();
        var body = inputRequired
            ? Gatehouse.Proxy.Protocol.UrlElicitation.InputRequiredBody(error, rawId, serverName, elicitationId)
            : Gatehouse.Proxy.Protocol.UrlElicitation.ErrorBody(error, rawId, serverName, elicitationId);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>Writes a rejection and logs it (code only, never the credential).</summary>
    public Task RejectAsync(HttpContext context, string serverName, GatewayError error, string? rawId = null)
    {
        ProxyLog.Rejected(logger, context.Request.Method, serverName, error.Code, error.HttpStatus);
        ExchangeRecorder.NoteError(context, error);
        return ErrorResponses.WriteAsync(context, error, rawId, serverName);
    }
}
