using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>A started authorization: the Gatehouse link to open, and where it leads.</summary>
/// <param name="ConnectUrl">Gatehouse's own link (single use, short-lived); it redirects to <paramref name="AuthorizationUrl"/>.</param>
/// <param name="AuthorizationUrl">The upstream authorization server's page.</param>
/// <param name="ExpiresAt">When the link stops working.</param>
/// <param name="Issuer">The authorization server.</param>
/// <param name="Scopes">Scopes requested (null: none named).</param>
/// <param name="ClientSource">How Gatehouse identified itself: pre-registered, cimd or dcr.</param>
public sealed record ConnectStart(Uri ConnectUrl, Uri AuthorizationUrl, DateTimeOffset ExpiresAt, string Issuer, string? Scopes, string ClientSource);

/// <summary>The end of a connect attempt, as the callback page shows it.</summary>
/// <param name="Succeeded">Whether tokens are now stored.</param>
/// <param name="Server">The server, when known.</param>
/// <param name="Message">What happened and what to do next.</param>
/// <param name="RedirectTo">Set when the browser must go on to a new authorization (one automatic re-registration).</param>
public sealed record ConnectOutcome(bool Succeeded, string? Server, string Message, Uri? RedirectTo = null)
{
    /// <summary>
    /// The callback came from a browser (or a Gatehouse user) other than the one that started the flow: nothing was
    /// stored, and the page says so (403).
    /// </summary>
    public bool WrongBrowser { get; init; }

    /// <summary>
    /// The Gatehouse path the browser continues to (a sign-in that passed through this upstream consent): at once on
    /// success, by a link on the failure page (marked declined, so the sign-in finishes without the connection).
    /// </summary>
    public string? ContinueTo { get; init; }
}

/// <summary>Who is at the callback: the browser's binding (see <see cref="FlowBrowserBinding"/>) and the Gatehouse user signed in there.</summary>
/// <param name="BindingHash">Hash of the binding cookie the browser presented, or null.</param>
/// <param name="SignedInUserId">The Gatehouse user signed in in this browser, or null.</param>
public sealed record FlowBrowser(string? BindingHash, string? SignedInUserId);

/// <summary>What opening a connect link leads to.</summary>
public enum ConnectLinkOutcome
{
    /// <summary>The flow is pending and bound to this browser: go to the authorization page.</summary>
    Authorize,

    /// <summary>The link is unknown, used or expired.</summary>
    NotValid,

    /// <summary>Another browser opened the link first; it stays bound to that one.</summary>
    OtherBrowser,
}

/// <summary>A connection just made or changed, as the CLI shows it.</summary>
/// <param name="Server">The server.</param>
/// <param name="Status">Connection status.</param>
/// <param name="Issuer">Authorization server.</param>
/// <param name="Scopes">Granted scopes.</param>
/// <param name="ExpiresAt">Access-token expiry.</param>
/// <param name="Detail">Extra information (for example what was revoked at the provider).</param>
public sealed record ConnectionReport(string Server, string Status, string? Issuer, string? Scopes, DateTimeOffset? ExpiresAt, string? Detail = null);

/// <summary>
/// Connecting, completing and disconnecting upstream OAuth connections. Pending authorizations live in the database
/// (state and PKCE verifier sealed), so any replica can complete them and a restart loses none.
/// </summary>
public sealed class ConnectFlows(UpstreamAuthServices services, Action<Guid, ConnectionOwner>? forget = null) : IServerCredentialRevoker
{
    private const string ReregisteredMarker = " (re-registered)";
    private readonly ClientRegistry _clients = new(services);

    /// <summary>Loads a server by name.</summary>
    public async Task<ServerDefinition?> FindServerAsync(string name, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        var record = await db.Servers.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name, ct);
        return record is null ? null : SnapshotLoader.ToDomain(record);
    }

    /// <summary>
    /// Starts an authorization-code flow (discovery, client resolution, PKCE, state) and stores it as pending, bound to no
    /// browser yet: the first browser that opens <see cref="ConnectStart.ConnectUrl"/> claims it (the CLI and admin API).
    /// </summary>
    /// <exception cref="ConnectException">The server is not an OAuth server, or discovery or registration failed; the message says why.</exception>
    public async Task<ConnectStart> StartAsync(ServerDefinition server, ConnectionOwner owner, string initiatedBy, string? scopes, CancellationToken ct) =>
        await StartAsync(server, owner, initiatedBy, scopes, returnPath: null, browserBindingHash: null, forceNewRegistration: false, ct);

    /// <summary>
    /// Starts an authorization-code flow from a page in the person's browser, bound to it at once
    /// (<see cref="FlowBrowserBinding.Bind"/>): the browser is sent straight to <see cref="ConnectStart.AuthorizationUrl"/>.
    /// </summary>
    /// <exception cref="ConnectException">As <see cref="StartAsync(ServerDefinition, ConnectionOwner, string, string?, CancellationToken)"/>.</exception>
    public async Task<ConnectStart> StartInBrowserAsync(ServerDefinition server, ConnectionOwner owner, string initiatedBy, string browserBindingHash, CancellationToken ct) =>
        await StartAsync(server, owner, initiatedBy, null, returnPath: null, browserBindingHash, forceNewRegistration: false, ct);

    /// <summary>
    /// Starts an authorization-code flow whose callback sends the browser on to <paramref name="returnPath"/> (a path on
    /// Gatehouse) instead of showing a page: how a sign-in to Gatehouse passes through the upstream's consent first.
    /// On failure the callback page offers <paramref name="returnPath"/> with <see cref="IUpstreamConsentDuringSignIn.DeclinedParameter"/>
    /// appended, so the sign-in can finish without the connection.
    /// </summary>
    /// <exception cref="ConnectException">As <see cref="StartAsync(ServerDefinition, ConnectionOwner, string, string?, CancellationToken)"/>.</exception>
    public async Task<ConnectStart> StartAsync(
        ServerDefinition server, ConnectionOwner owner, string initiatedBy, string? scopes, string returnPath, string browserBindingHash, CancellationToken ct) =>
        await StartAsync(server, owner, initiatedBy, scopes, returnPath, browserBindingHash, forceNewRegistration: false, ct);

    private async Task<ConnectStart> StartAsync(
        ServerDefinition server, ConnectionOwner owner, string initiatedBy, string? scopes, string? returnPath, string? browserBindingHash, bool forceNewRegistration,
        CancellationToken ct)
    {
        var settings = RequireOAuth(server);
        if (settings.Grant == UpstreamOAuthGrant.ClientCredentials)
        {
            throw new ConnectException($"Server '{server.Name}' is set up for the client_credentials grant, which needs no browser: run 'gatehouse server connect {server.Name}' (it connects headlessly).");
        }

        var baseUrl = services.PublicBaseUrl ?? throw new ConnectException(
            "Gatehouse does not know its public URL yet: start 'gatehouse serve' once (with --public-url when people reach it at another address), or pass --public-url.");
        var discovery = await DiscoverAsync(server, ct);
        if (!discovery.SupportsPkceS256 && !settings.AssumePkce)
        {
            throw new ConnectException(
                $"The authorization server {discovery.Issuer} does not advertise PKCE S256 (code_challenge_methods_supported), which OAuth 2.1 requires. " +
                $"If you know it supports S256 anyway (some providers omit it), set assume-pkce on the server.");
        }

        await using var db = services.Storage.CreateContext();
        var existing = await FindConnectionAsync(db, server.Id, owner, ct);
        var requested = scopes
            ?? (existing?.RequestedScopes is { } pending ? ScopeSet.Union(pending, discovery.SelectScopes(settings.Scopes)) : discovery.SelectScopes(settings.Scopes));
        var redirectUri = GatewayAddress.RedirectUri(baseUrl);
        var cimdUrl = services.ClientMetadataUrl ?? UsableClientMetadataUrl(baseUrl, settings);
        var client = await ResolveClientAsync(server, discovery.AuthorizationServer, discovery.Issuer, redirectUri, cimdUrl, forceNewRegistration, ct);

        var (verifier, challenge) = Pkce.CreateS256();
        var state = OAuthState.Create();
        var flowToken = OAuthState.Create();
        var authorizationUrl = AuthorizationRequestBuilder.Build(discovery.AuthorizationServer, client.Credentials.ClientId, redirectUri, state, challenge, discovery.Resource, requested);
        var now = services.Time.GetUtcNow();
        var expiresAt = now + services.Options.FlowLifetime;
        db.OAuthPendingFlows.Add(new OAuthPendingFlowRecord
        {
            Id = Hash(flowToken),
            StateHash = Hash(state),
            ServerId = server.Id,
            OwnerKind = owner.KindName,
            OwnerId = owner.Id,
            Issuer = discovery.Issuer,
            AuthorizationServerJson = UpstreamAuthServices.Serialize(discovery.AuthorizationServer),
            ClientId = client.Credentials.ClientId,
            ClientSource = client.Source,
            RedirectUri = redirectUri.ToString(),
            Resource = discovery.Resource,
            Scopes = requested,
            CodeVerifierSealed = services.Vault.Protect(verifier),
            AuthorizationUrlSealed = services.Vault.Protect(authorizationUrl.ToString()),
            InitiatedBy = initiatedBy,
            ReturnPath = returnPath,
            BrowserBindingHash = browserBindingHash,
            CreatedAt = now,
            ExpiresAt = expiresAt,
        });

        // Expired flows are useless; sweeping them here keeps the table small without a background job.
        await db.OAuthPendingFlows.Where(f => f.ExpiresAt < now - TimeSpan.FromDays(1)).ExecuteDeleteAsync(ct);
        await db.SaveChangesAsync(ct);
        return new ConnectStart(GatewayAddress.FlowUrl(baseUrl, flowToken), authorizationUrl, expiresAt, discovery.Issuer, requested, client.Source);
    }

    /// <summary>
    /// Waits until the flow behind <paramref name="connectUrl"/> is completed (in any gateway process) or expires;
    /// returns its outcome (<c>connected</c> or the failure message), or null when it expired unused.
    /// </summary>
    public async Task<string?> WaitAsync(Uri connectUrl, TimeSpan pollInterval, CancellationToken ct)
    {
        var id = Hash(connectUrl.Segments[^1]);
        while (true)
        {
            await using (var db = services.Storage.CreateContext())
            {
                var flow = await db.OAuthPendingFlows.AsNoTracking().FirstOrDefaultAsync(f => f.Id == id, ct);
                if (flow is null || (flow.ConsumedAt is null && flow.ExpiresAt <= services.Time.GetUtcNow()))
                {
                    return null;
                }

                if (flow.ConsumedAt is not null && flow.Outcome is not null)
                {
                    return flow.Outcome;
                }
            }

            await Task.Delay(pollInterval, services.Time, ct);
        }
    }

    /// <summary>
    /// Where Gatehouse's connect link sends the browser: the authorization page, while the flow is pending and bound to
    /// this browser. The first browser to open a link not yet bound claims it (one conditional update, so two browsers
    /// racing cannot both win); any other browser is refused from then on.
    /// </summary>
    /// <param name="flowToken">The link's token.</param>
    /// <param name="browserBindingHash">The hash of this browser's binding cookie (<see cref="FlowBrowserBinding.Bind"/>).</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<(ConnectLinkOutcome Outcome, Uri? AuthorizationUrl)> OpenLinkAsync(string flowToken, string browserBindingHash, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        var id = Hash(flowToken);
        var now = services.Time.GetUtcNow();
        await db.OAuthPendingFlows.Where(f => f.Id == id && f.BrowserBindingHash == null && f.ConsumedAt == null && f.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(f => f.BrowserBindingHash, browserBindingHash), ct);
        var flow = await db.OAuthPendingFlows.AsNoTracking().FirstOrDefaultAsync(f => f.Id == id, ct);
        if (flow is null || flow.ConsumedAt is not null || flow.ExpiresAt <= now)
        {
            return (ConnectLinkOutcome.NotValid, null);
        }

        return FlowBrowserBinding.Matches(flow.BrowserBindingHash, browserBindingHash)
            ? (ConnectLinkOutcome.Authorize, new Uri(services.Vault.Unprotect(flow.AuthorizationUrlSealed)))
            : (ConnectLinkOutcome.OtherBrowser, null);
    }

    /// <summary>
    /// Completes an authorization at Gatehouse's redirect URI: checks state (single use, unexpired), that the browser is
    /// the one that started the flow (and, for a person's own connection, is signed in as that person), and <c>iss</c>;
    /// redeems the code and stores the tokens.
    /// </summary>
    /// <remarks>
    /// A callback from the wrong browser or user still consumes the flow and stores nothing: its state has left the
    /// starter's browser, so it must never complete later, and <c>server connect --wait</c> reports the refusal at once.
    /// </remarks>
    public async Task<ConnectOutcome> CompleteAsync(string? code, string? state, string? iss, string? error, string? errorDescription, FlowBrowser browser, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(state))
        {
            return new ConnectOutcome(false, null, "The authorization server's answer has no 'state', so it cannot be matched to a connect request Gatehouse started. Start again with 'gatehouse server connect <server>'.");
        }

        await using var db = services.Storage.CreateContext();
        var stateHash = Hash(state);
        var now = services.Time.GetUtcNow();
        var consumed = await db.OAuthPendingFlows
            .Where(f => f.StateHash == stateHash && f.ConsumedAt == null && f.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(f => f.ConsumedAt, now), ct);
        var flow = await db.OAuthPendingFlows.FirstOrDefaultAsync(f => f.StateHash == stateHash, ct);
        if (consumed != 1 || flow is null)
        {
            var reason = flow is null ? "Gatehouse did not start it (unknown state)"
                : flow.ConsumedAt is not null && flow.ConsumedAt != now ? "it was already used"
                : "it expired (connect links last " + (int)services.Options.FlowLifetime.TotalMinutes + " minutes)";
            return new ConnectOutcome(false, null, $"This authorization cannot be completed: {reason}. Start again with 'gatehouse server connect <server>'.");
        }

        var serverRecord = await db.Servers.AsNoTracking().FirstOrDefaultAsync(s => s.Id == flow.ServerId, ct);
        if (serverRecord is null)
        {
            return Finish(flow, false, null, "The server this authorization was for has been removed from Gatehouse.");
        }

        var server = SnapshotLoader.ToDomain(serverRecord);
        if (Refuse(flow, browser, server.Name) is { } refused)
        {
            await db.SaveChangesAsync(ct);
            return refused;
        }

        var metadata = UpstreamAuthServices.Deserialize(flow.AuthorizationServerJson);
        var check = AuthorizationCallback.Validate(code, state, iss, error, errorDescription, flow.Issuer, metadata.AuthorizationResponseIssParameterSupported == true);
        if (!check.Succeeded)
        {
            var outcome = Finish(flow, false, server.Name, $"The authorization for '{server.Name}' did not complete: {check.Failure}. Start again with 'gatehouse server connect {server.Name}'.");
            await db.SaveChangesAsync(ct);
            return outcome;
        }

        var owner = new ConnectionOwner(ConnectionOwner.ParseKind(flow.OwnerKind), flow.OwnerId);
        var client = await _clients.ForConnectionAsync(server, metadata, flow.ClientSource, flow.ClientId, flow.Issuer, ct);
        if (client is null)
        {
            return Finish(flow, false, server.Name, $"The client registration used for this authorization is gone. Start again with 'gatehouse server connect {server.Name}'.");
        }

        var result = await WithRetriesAsync(() => services.Tokens.ExchangeCodeAsync(
            metadata, client, check.Code!, services.Vault.Unprotect(flow.CodeVerifierSealed), new Uri(flow.RedirectUri), flow.Resource, UpstreamAuthServices.PolicyFor(server), ct),
            singleUse: true, ct);

        if (result is OAuthFailure { Kind: OAuthFailureKind.InvalidClient } && flow.ClientSource == ClientRegistry.Dynamic
            && flow.InitiatedBy?.EndsWith(ReregisteredMarker, StringComparison.Ordinal) != true)
        {
            // The server forgot Gatehouse's registration: register once more and send the browser through a new authorization.
            await _clients.ForgetAsync(flow.Issuer, flow.ClientId, ct);
            Finish(flow, false, server.Name, "invalid_client: registering again");
            await db.SaveChangesAsync(ct);
            var restart = await StartAsync(server, owner, (flow.InitiatedBy ?? "unknown") + ReregisteredMarker, flow.Scopes, flow.ReturnPath, flow.BrowserBindingHash, forceNewRegistration: true, ct);
            return new ConnectOutcome(false, server.Name, "The authorization server no longer knew Gatehouse's registration; Gatehouse registered again. Continue to authorize.", restart.AuthorizationUrl);
        }

        if (result is not TokenSet tokens)
        {
            var failure = (OAuthFailure)result;
            var outcome = Finish(flow, false, server.Name,
                $"The authorization server refused to issue tokens for '{server.Name}' ({failure.Error}{(failure.Description is { Length: > 0 } d ? ": " + d : "")}). Start again with 'gatehouse server connect {server.Name}'.");
            await db.SaveChangesAsync(ct);
            return outcome;
        }

        var row = await StoreAsync(db, server, owner, metadata, flow.Issuer, flow.ClientId, flow.ClientSource, "authorization_code", flow.Resource, flow.Scopes, tokens, flow.InitiatedBy, ct);
        Finish(flow, true, server.Name, "connected");
        await ConfigurationCommit.SaveAsync(db, services.Time, services.OnChanged, flow.InitiatedBy ?? "unknown", "server.connect", server.Name,
            $"owner={owner} issuer={flow.Issuer} client={flow.ClientSource} scopes={row.Scopes ?? "(none)"}", ct);
        forget?.Invoke(server.Id, owner);
        return new ConnectOutcome(true, server.Name,
            $"Gatehouse is now connected to '{server.Name}'. It keeps the tokens encrypted and refreshes them; agents with a grant for '{server.Name}' can use it now. You can close this window.")
            { ContinueTo = flow.ReturnPath };
    }

    /// <summary>Connects headlessly with the client-credentials grant (pre-registered secret or private key).</summary>
    public async Task<ConnectionReport> ConnectWithClientCredentialsAsync(ServerDefinition server, ConnectionOwner owner, string initiatedBy, string? scopes, CancellationToken ct)
    {
        var settings = RequireOAuth(server);
        if (settings.ClientId is null)
        {
            throw new ConnectException($"The client_credentials grant needs pre-registered credentials for '{server.Name}': set --client-id with --client-secret or --private-key.");
        }

        var discovery = await DiscoverAsync(server, ct);
        var client = await ResolveClientAsync(server, discovery.AuthorizationServer, discovery.Issuer, new Uri("urn:ietf:wg:oauth:2.0:oob"), null, false, ct);
        var requested = scopes ?? discovery.SelectScopes(settings.Scopes, wantsRefreshToken: false);
        var result = await WithRetriesAsync(() => services.Tokens.ClientCredentialsAsync(
            discovery.AuthorizationServer, client.Credentials, discovery.Resource, requested, UpstreamAuthServices.PolicyFor(server), ct), singleUse: false, ct);
        if (result is not TokenSet tokens)
        {
            var failure = (OAuthFailure)result;
            throw new ConnectException($"The authorization server {discovery.Issuer} refused the client credentials for '{server.Name}' ({failure.Error}{(failure.Description is { Length: > 0 } d ? ": " + d : "")}). Check the client id, secret or key.");
        }

        await using var db = services.Storage.CreateContext();
        var row = await StoreAsync(db, server, owner, discovery.AuthorizationServer, discovery.Issuer, client.Credentials.ClientId, client.Source, "client_credentials", discovery.Resource, requested, tokens, initiatedBy, ct);
        await ConfigurationCommit.SaveAsync(db, services.Time, services.OnChanged, initiatedBy, "server.connect", server.Name,
            $"owner={owner} issuer={discovery.Issuer} grant=client_credentials scopes={row.Scopes ?? "(none)"}", ct);
        forget?.Invoke(server.Id, owner);
        return new ConnectionReport(server.Name, row.Status, row.Issuer, row.Scopes, row.AccessTokenExpiresAt);
    }

    /// <summary>Revokes the tokens at the provider (RFC 7009, where advertised), deletes them locally and marks the connection revoked.</summary>
    public async Task<ConnectionReport?> DisconnectAsync(ServerDefinition server, ConnectionOwner owner, string actor, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        var row = await FindConnectionAsync(db, server.Id, owner, ct);
        if (row is null)
        {
            return null;
        }

        var revoked = new List<string>();
        string detail;
        for (var attempt = 1; ; attempt++)
        {
            revoked.AddRange(await RevokeAtProviderAsync(server, row, ct));
            var now = services.Time.GetUtcNow();
            row.Status = ConnectionStatus.Revoked.ToName();
            row.AccessTokenSealed = null;
            row.AccessTokenExpiresAt = null;
            row.RefreshTokenSealed = null;
            row.RefreshTokenExpiresAt = null;
            row.RequestedScopes = null;
            row.StepUpAttempts = 0;
            row.LastError = null;
            row.Version++;
            row.UpdatedAt = now;
            detail = revoked.Count == 0 ? "no tokens were stored" : string.Join("; ", revoked);
            try
            {
                await ConfigurationCommit.SaveAsync(db, services.Time, services.OnChanged, actor, "server.disconnect", server.Name, $"owner={owner} {detail}", ct);
                break;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 3)
            {
                // A refresh stored new tokens between the read and this write (Version is a concurrency token): revoke
                // those too and clear again, rather than leave them behind or fail the disconnect.
                db.ChangeTracker.Clear();
                row = await FindConnectionAsync(db, server.Id, owner, ct);
                if (row is null)
                {
                    forget?.Invoke(server.Id, owner);
                    return null;
                }
            }
        }

        forget?.Invoke(server.Id, owner);
        return new ConnectionReport(server.Name, row.Status, row.Issuer, row.Scopes, null, detail);
    }

    /// <inheritdoc />
    public async Task<string> RevokeAllAsync(ServerDefinition server, CancellationToken ct)
    {
        await using var db = services.Storage.CreateContext();
        var rows = await db.UpstreamConnections.AsNoTracking().Where(c => c.ServerId == server.Id).ToListAsync(ct);
        var outcomes = new List<string>();
        foreach (var row in rows.Where(r => r.AccessTokenSealed is not null || r.RefreshTokenSealed is not null))
        {
            List<string> revoked;
            try
            {
                revoked = await RevokeAtProviderAsync(server, row, ct);
            }
            catch (Exception ex) when (ex is OutboundUrlRefusedException or OAuthProtocolException or HttpRequestException or CryptographicException)
            {
                // One connection failing at its provider must not stop the others from being revoked.
                revoked = [$"revocation failed ({ex.GetType().Name})"];
            }

            outcomes.Add($"{row.OwnerKind}:{row.OwnerId} {string.Join(", ", revoked)}");
            forget?.Invoke(server.Id, new ConnectionOwner(ConnectionOwner.ParseKind(row.OwnerKind), row.OwnerId));
        }

        return outcomes.Count == 0 ? "no tokens were stored" : string.Join("; ", outcomes);
    }

    /// <summary>Revokes a connection's tokens at its provider (refresh token first); what happened to each, never a token.</summary>
    private async Task<List<string>> RevokeAtProviderAsync(ServerDefinition server, UpstreamConnectionRecord row, CancellationToken ct)
    {
        var revoked = new List<string>();
        if (row.AuthorizationServerJson is not { } json || (row.RefreshTokenSealed is null && row.AccessTokenSealed is null))
        {
            return revoked;
        }

        var metadata = UpstreamAuthServices.Deserialize(json);
        var client = await _clients.ForConnectionAsync(server, metadata, row.ClientSource, row.ClientId, row.Issuer, ct);
        if (metadata.RevocationEndpoint is null)
        {
            revoked.Add("the provider advertises no revocation endpoint");
        }
        else if (client is null)
        {
            revoked.Add("the client registration is gone, so nothing could be revoked at the provider");
        }
        else
        {
            // The refresh token first: revoking it usually ends the whole grant, access tokens included.
            foreach (var (sealedToken, hint) in new[] { (row.RefreshTokenSealed, "refresh_token"), (row.AccessTokenSealed, "access_token") })
            {
                if (sealedToken is null)
                {
                    continue;
                }

                var outcome = await services.Tokens.RevokeAsync(metadata, client, services.Vault.Unprotect(sealedToken), hint, UpstreamAuthServices.PolicyFor(server), ct);
                revoked.Add($"{hint}: {outcome}");
            }
        }

        return revoked;
    }

    private async Task<UpstreamConnectionRecord> StoreAsync(
        GatehouseDbContext db, ServerDefinition server, ConnectionOwner owner, AuthorizationServerMetadata metadata, string issuer, string clientId,
        string clientSource, string grantType, string? resource, string? requestedScopes, TokenSet tokens, string? actor, CancellationToken ct)
    {
        var now = services.Time.GetUtcNow();
        var row = await FindConnectionAsync(db, server.Id, owner, ct);
        if (row is null)
        {
            row = new UpstreamConnectionRecord { Id = Guid.NewGuid(), ServerId = server.Id, OwnerKind = owner.KindName, OwnerId = owner.Id, Status = "" };
            db.UpstreamConnections.Add(row);
        }

        row.Status = ConnectionStatus.Connected.ToName();
        row.Issuer = issuer;
        row.AuthorizationServerJson = UpstreamAuthServices.Serialize(metadata);
        row.ClientId = clientId;
        row.ClientSource = clientSource;
        row.GrantType = grantType;
        row.Resource = resource;
        row.Scopes = tokens.Scope ?? requestedScopes;
        row.RequestedScopes = requestedScopes;
        row.AccessTokenSealed = services.Vault.Protect(tokens.AccessToken);
        row.AccessTokenExpiresAt = tokens.ExpiresAt;
        row.RefreshTokenSealed = tokens.RefreshToken is { } refresh ? services.Vault.Protect(refresh) : null;
        row.RefreshTokenExpiresAt = tokens.RefreshToken is null ? null : tokens.RefreshTokenExpiresAt;
        row.ConnectedAt = now;
        row.ConnectedBy = actor;
        row.LastError = null;
        row.Version++;
        row.UpdatedAt = now;
        row.RefreshLeaseHolder = null;
        row.RefreshLeaseUntil = null;
        return row;
    }

    private async Task<DiscoveryResult> DiscoverAsync(ServerDefinition server, CancellationToken ct)
    {
        try
        {
            return await services.Discovery.DiscoverAsync(server.Url, UpstreamAuthServices.PolicyFor(server), ct);
        }
        catch (OutboundUrlRefusedException ex)
        {
            throw new ConnectException(ex.Message, ex);
        }
        catch (DiscoveryException ex)
        {
            throw new ConnectException($"Discovering how to authorize with '{server.Name}' failed: {ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ConnectException($"Discovering how to authorize with '{server.Name}' failed: {server.Url.GetLeftPart(UriPartial.Path)} could not be reached ({ex.HttpRequestError}).", ex);
        }
    }

    private async Task<ResolvedClient> ResolveClientAsync(ServerDefinition server, AuthorizationServerMetadata metadata, string issuer, Uri redirectUri, Uri? cimdUrl, bool forceNew, CancellationToken ct)
    {
        try
        {
            return await _clients.ResolveAsync(server, metadata, issuer, redirectUri, cimdUrl, forceNew, ct);
        }
        catch (OutboundUrlRefusedException ex)
        {
            throw new ConnectException(ex.Message, ex);
        }
        catch (OAuthProtocolException ex)
        {
            throw new ConnectException($"Registering Gatehouse with {issuer} failed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Retries transient failures with back-off; a request carrying a single-use credential (an authorization code) is
    /// not repeated once it may have reached the server: a replayed code makes the server revoke what it issued.
    /// </summary>
    private async Task<TokenResult> WithRetriesAsync(Func<Task<TokenResult>> request, bool singleUse, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await request();
            if (result is not OAuthFailure { Kind: OAuthFailureKind.Transient } failure || attempt >= services.Options.TokenRequestAttempts
                || (singleUse && failure.MayHaveBeenProcessed))
            {
                return result;
            }

            await Task.Delay(services.Options.TokenRequestBackoff * Math.Pow(2, attempt - 1), services.Time, ct);
        }
    }

    private static UpstreamOAuthSettings RequireOAuth(ServerDefinition server) =>
        server.AuthMode == UpstreamAuthMode.OAuth && server.OAuth is { } settings
            ? settings
            : throw new ConnectException($"Server '{server.Name}' does not use OAuth (its auth is {TransportNames.Format(server.AuthMode)}). Register it with --auth oauth to connect it.");

    /// <summary>Gatehouse's CIMD URL when an authorization server could fetch it: HTTPS, or loopback where the server allows loopback.</summary>
    private static Uri? UsableClientMetadataUrl(Uri baseUrl, UpstreamOAuthSettings settings)
    {
        var url = GatewayAddress.ClientMetadataUrl(baseUrl);
        return url.Scheme == Uri.UriSchemeHttps || (settings.AllowLoopback && url.IsLoopback) ? url : null;
    }

    /// <summary>The refusal when the callback's browser is not the flow's, or (for a person's own connection) its user is not the owner.</summary>
    private static ConnectOutcome? Refuse(OAuthPendingFlowRecord flow, FlowBrowser browser, string server)
    {
        string? message = null;
        if (!FlowBrowserBinding.Matches(flow.BrowserBindingHash, browser.BindingHash))
        {
            message = $"This authorization for '{server}' was started in another browser, so Gatehouse stored nothing (GH{(int)GatewayErrorId.ConnectFlowOtherBrowser}). " +
                "The link to the authorization server works only in the browser where the connection was started: start again there" +
                (ConnectionOwner.ParseKind(flow.OwnerKind) == ConnectionOwnerKind.Server ? $" ('gatehouse server connect {server}' prints a new link)." : " (retry the call in your MCP client for a new link).") +
                " If someone sent you this link, do not use it: it would connect your account for them.";
        }
        else if (ConnectionOwner.ParseKind(flow.OwnerKind) == ConnectionOwnerKind.User && browser.SignedInUserId != flow.OwnerId)
        {
            message = $"This authorization for '{server}' was started by another Gatehouse user than the one signed in in this browser, so Gatehouse stored nothing (GH{(int)GatewayErrorId.ConnectFlowOtherUser}). " +
                "Sign in to Gatehouse as the person who started it and connect again (retry the call in the MCP client for a new link).";
        }

        if (message is null)
        {
            return null;
        }

        // No way back into a sign-in either: its authorization request belongs to the browser that started it.
        flow.Outcome = message.Length > 500 ? message[..500] : message;
        return new ConnectOutcome(false, server, message) { WrongBrowser = true };
    }

    private static ConnectOutcome Finish(OAuthPendingFlowRecord flow, bool succeeded, string? server, string message)
    {
        flow.Outcome = succeeded ? "connected" : message.Length > 500 ? message[..500] : message;
        var continueTo = flow.ReturnPath is not { } path ? null
            : succeeded ? path
            : $"{path}{(path.Contains('?', StringComparison.Ordinal) ? '&' : '?')}{IUpstreamConsentDuringSignIn.DeclinedParameter}=1";
        return new ConnectOutcome(succeeded, server, message) { ContinueTo = continueTo };
    }

    private static Task<UpstreamConnectionRecord?> FindConnectionAsync(GatehouseDbContext db, Guid serverId, ConnectionOwner owner, CancellationToken ct)
    {
        var kind = owner.KindName;
        var id = owner.Id;
        return db.UpstreamConnections.FirstOrDefaultAsync(c => c.ServerId == serverId && c.OwnerKind == kind && c.OwnerId == id, ct);
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>HTML-encodes for the plain pages.</summary>
    internal static string Encode(string value) => WebUtility.HtmlEncode(value);
}
