using System.Text.RegularExpressions;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Security;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Admin.Administration;

/// <summary>
/// Every change to servers and grants, whoever asks (CLI, admin API, YAML apply). Each change bumps the configuration
/// revision in the same transaction, writes an audit event, and then signals running gateways.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="vault">Seals header values and OAuth secrets.</param>
/// <param name="time">The clock.</param>
/// <param name="onChanged">Signals running gateways after a commit.</param>
/// <param name="credentials">
/// Revokes a server's upstream tokens at the provider when an update moves it to another address; without one, the
/// tokens are still deleted (and the audit entry says they were not revoked).
/// </param>
public sealed partial class GatewayAdministration(
    GatehouseDbContext db, ISecretProtector vault, TimeProvider time, Action onChanged, IServerCredentialRevoker? credentials = null)
{
    /// <summary>Lists servers by name.</summary>
    public async Task<IReadOnlyList<ServerView>> ListServersAsync(CancellationToken ct = default)
    {
        var servers = await db.Servers.AsNoTracking().OrderBy(s => s.Name).ToListAsync(ct);
        var shared = (await db.UpstreamConnections.AsNoTracking().Where(c => c.OwnerKind == "server").ToListAsync(ct))
            .ToDictionary(c => c.ServerId);
        return servers.Select(s => ToView(s, shared.GetValueOrDefault(s.Id))).ToList();
    }

    /// <summary>Finds one server.</summary>
    public async Task<AdminResult<ServerView>> GetServerAsync(string name, CancellationToken ct = default)
    {
        var record = await db.Servers.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name, ct);
        if (record is null)
        {
            return NotFound<ServerView>("server", name);
        }

        var shared = await db.UpstreamConnections.AsNoTracking().FirstOrDefaultAsync(c => c.ServerId == record.Id && c.OwnerKind == "server", ct);
        return AdminResult<ServerView>.Ok(ToView(record, shared));
    }

    /// <summary>Registers a new server; refuses a name in use.</summary>
    public async Task<AdminResult<ServerView>> AddServerAsync(ServerSpec spec, string actor, CancellationToken ct = default)
    {
        if (Validate(spec) is { } problem)
        {
            return AdminResult<ServerView>.Fail(AdminFailure.Invalid, problem);
        }

        if (await db.Servers.AnyAsync(s => s.Name == spec.Name, ct))
        {
            return AdminResult<ServerView>.Fail(AdminFailure.Conflict, $"A server named '{spec.Name}' already exists. Remove it first, or use 'gatehouse apply' to update it.");
        }

        var now = time.GetUtcNow();
        var record = new ServerRecord
        {
            Id = Guid.NewGuid(), Name = spec.Name, Url = spec.Url, Transport = NormalizeTransport(spec.Transport),
            AuthMode = AuthModeOf(spec), HeadersJson = SealHeaders(spec.Headers), Enabled = spec.Enabled, ForwardIdentityHeaders = spec.ForwardIdentityHeaders,
            OAuthJson = SnapshotLoader.WriteOAuth(SealOAuth(spec.OAuth)), CreatedAt = now, UpdatedAt = now,
        };
        db.Servers.Add(record);
        await CommitAsync(actor, "server.add", spec.Name, $"url={spec.Url} transport={record.Transport} headers={HeaderNames(spec)}{IdentityNote(spec)}", ct);
        return AdminResult<ServerView>.Ok(ToView(record));
    }

    /// <summary>Creates or updates a server to match <paramref name="spec"/>; reports created, updated or unchanged.</summary>
    public async Task<AdminResult<string>> UpsertServerAsync(ServerSpec spec, string actor, CancellationToken ct = default)
    {
        if (Validate(spec) is { } problem)
        {
            return AdminResult<string>.Fail(AdminFailure.Invalid, problem);
        }

        var record = await db.Servers.FirstOrDefaultAsync(s => s.Name == spec.Name, ct);
        if (record is null)
        {
            var added = await AddServerAsync(spec, actor, ct);
            return added.Succeeded ? AdminResult<string>.Ok("created") : AdminResult<string>.Fail(added.Failure!.Value, added.Error!);
        }

        var transport = NormalizeTransport(spec.Transport);
        var sameHeaders = HeadersEqual(SnapshotLoader.ReadHeaders(record.HeadersJson), spec.Headers);
        var sameOAuth = OAuthEqual(SnapshotLoader.ReadOAuth(record.OAuthJson), spec.OAuth);
        if (record.Url == spec.Url && record.Transport == transport && record.Enabled == spec.Enabled && sameHeaders && sameOAuth
            && record.ForwardIdentityHeaders == spec.ForwardIdentityHeaders)
        {
            return AdminResult<string>.Ok("unchanged");
        }

        // Upstream tokens were issued for the old address (its resource and authorization server, which the address
        // determines): they must never reach the new one. Static headers are different: the spec restates them, typed
        // by the admin for the new address in this very change, so they stay as given.
        var resetCredentials = record.AuthMode == "oauth" && (record.Url != spec.Url || AuthModeOf(spec) != "oauth");
        var revokedAtProvider = resetCredentials ? await RevokeCredentialsAsync(SnapshotLoader.ToDomain(record), ct) : null;

        record.Url = spec.Url;
        record.Transport = transport;
        record.Enabled = spec.Enabled;
        record.ForwardIdentityHeaders = spec.ForwardIdentityHeaders;
        if (!sameHeaders)
        {
            record.HeadersJson = SealHeaders(spec.Headers);
        }

        if (!sameOAuth)
        {
            record.OAuthJson = SnapshotLoader.WriteOAuth(SealOAuth(spec.OAuth));
        }

        record.AuthMode = AuthModeOf(spec);

        record.UpdatedAt = time.GetUtcNow();
        var details = $"url={spec.Url} transport={transport} enabled={spec.Enabled} headers={HeaderNames(spec)}{IdentityNote(spec)}";
        if (!resetCredentials)
        {
            await CommitAsync(actor, "server.update", spec.Name, details, ct);
            return AdminResult<string>.Ok("updated");
        }

        // One transaction: the new address, the deleted connections and pending flows, the revision and the audit entry.
        // Running gateways are signalled only after the commit, so none reloads a half-made change.
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            var connections = await db.UpstreamConnections.Where(c => c.ServerId == record.Id).ExecuteDeleteAsync(ct);
            var flows = await db.OAuthPendingFlows.Where(f => f.ServerId == record.Id).ExecuteDeleteAsync(ct);
            details += $"; credentials reset ({(AuthModeOf(spec) == "oauth" ? "new address" : "no longer OAuth")}): {connections} connection(s) and {flows} pending flow(s) deleted; at the provider: {revokedAtProvider}";
            await ConfigurationCommit.SaveAsync(db, time, static () => { }, actor, "server.update", spec.Name, details, ct);
            await transaction.CommitAsync(ct);
        }

        onChanged();
        return AdminResult<string>.Ok("updated");
    }

    /// <summary>Removes a server; grants lose access to it (a new server of the same name does not inherit them).</summary>
    public async Task<AdminResult<ServerView>> RemoveServerAsync(string name, string actor, CancellationToken ct = default)
    {
        var record = await db.Servers.FirstOrDefaultAsync(s => s.Name == name, ct);
        if (record is null)
        {
            return NotFound<ServerView>("server", name);
        }

        db.Servers.Remove(record);
        db.GrantServers.RemoveRange(db.GrantServers.Where(g => g.ServerName == name));
        await CommitAsync(actor, "server.remove", name, null, ct);
        return AdminResult<ServerView>.Ok(ToView(record));
    }

    /// <summary>Lists grants by label.</summary>
    public async Task<IReadOnlyList<GrantView>> ListGrantsAsync(CancellationToken ct = default) => (await ListGrantsAsync(null, ct)).Value!;

    /// <summary>Lists grants, only those <paramref name="owner"/> (a user's id or name) owns when given.</summary>
    public async Task<AdminResult<IReadOnlyList<GrantView>>> ListGrantsAsync(string? owner, CancellationToken ct = default)
    {
        var query = db.Grants.AsNoTracking().Include(g => g.Servers).AsQueryable();
        if (owner is not null)
        {
            if (await FindUserAsync(owner, ct) is not { } user)
            {
                return NotFound<IReadOnlyList<GrantView>>("user", owner);
            }

            query = query.Where(g => g.OwnerUserId == user.Id);
        }

        var now = time.GetUtcNow();
        return AdminResult<IReadOnlyList<GrantView>>.Ok((await query.OrderBy(g => g.Label).ToListAsync(ct)).Select(g => ToView(g, now)).ToList());
    }

    /// <summary>Lists the people who sign in to Gatehouse.</summary>
    public async Task<IReadOnlyList<UserView>> ListUsersAsync(CancellationToken ct = default) =>
        (await db.Users.AsNoTracking().OrderBy(u => u.CreatedAt).ToListAsync(ct))
        .Select(u => new UserView(u.Id, u.DisplayName, u.Kind, u.Email, u.DisabledAt is null ? "active" : "disabled", u.CreatedAt, u.LastSignInAt, u.DisabledAt,
            System.Text.Json.JsonSerializer.Deserialize<string[]>(u.GroupsJson) ?? [])).ToList();

    /// <summary>Finds a user by id or by display name (a name shared by several users matches none: use the id).</summary>
    public Task<UserRecord?> FindUserAsync(string idOrName, CancellationToken ct = default) => FindUserAsync(db, idOrName, ct);

    /// <summary>Finds a user by id or by display name in <paramref name="db"/> (tracked).</summary>
    public static async Task<UserRecord?> FindUserAsync(GatehouseDbContext db, string idOrName, CancellationToken ct = default)
    {
        if (Guid.TryParse(idOrName, out var id))
        {
            return await db.Users.FirstOrDefaultAsync(u => u.Id == id, ct);
        }

        var named = await db.Users.Where(u => u.DisplayName == idOrName).Take(2).ToListAsync(ct);
        return named.Count == 1 ? named[0] : null;
    }

    /// <summary>Creates a grant and returns its token, shown this once.</summary>
    public async Task<AdminResult<IssuedGrant>> CreateGrantAsync(
        string label, IReadOnlyCollection<string> servers, TimeSpan? expiresIn, string actor, CancellationToken ct = default, string? owner = null)
    {
        UserRecord? ownerUser = null;
        if (owner is not null && (ownerUser = await FindUserAsync(owner, ct)) is null)
        {
            return NotFound<IssuedGrant>("user", owner);
        }

        if (ownerUser?.DisabledAt is not null)
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.Conflict, $"User '{ownerUser.DisplayName}' is disabled; a disabled user cannot own a new grant.");
        }

        if (!GrantLabel.TryValidate(label, out var problem))
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.Invalid, problem);
        }

        var distinct = servers.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count == 0)
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.Invalid, "A grant needs at least one server: pass --server <name> (repeat for more).");
        }

        var known = await db.Servers.Where(s => distinct.Contains(s.Name)).Select(s => s.Name).ToListAsync(ct);
        var missing = distinct.Except(known, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.NotFound, $"No server named {string.Join(", ", missing.Select(m => $"'{m}'"))}. 'gatehouse server list' shows the names.");
        }

        if (await db.Grants.AnyAsync(g => g.Label == label, ct))
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.Conflict, $"A grant labelled '{label}' already exists. Choose another label, or rotate that grant's token with 'gatehouse grant rotate {label}'.");
        }

        var now = time.GetUtcNow();
        var token = GrantToken.Create();
        var record = new GrantRecord
        {
            Id = Guid.NewGuid(), Label = label, TokenHash = GrantToken.Hash(token), CreatedAt = now, RotatedAt = now,
            ExpiresAt = expiresIn is { } e ? now + e : null,
            OwnerUserId = ownerUser?.Id,
            Servers = distinct.Select(s => new GrantServerRecord { ServerName = s }).ToList(),
        };
        db.Grants.Add(record);
        await CommitAsync(actor, "grant.create", label, $"servers={string.Join(',', distinct)} expires={record.ExpiresAt?.ToString("O") ?? "never"}{(ownerUser is null ? "" : $" owner={ownerUser.Id}")}", ct);
        return AdminResult<IssuedGrant>.Ok(new IssuedGrant(ToView(record, now), token));
    }

    /// <summary>Revokes a grant (by id or label); in force on the next request.</summary>
    public async Task<AdminResult<GrantView>> RevokeGrantAsync(string idOrLabel, string actor, CancellationToken ct = default)
    {
        var record = await FindGrantAsync(idOrLabel, ct);
        if (record is null)
        {
            return NotFound<GrantView>("grant", idOrLabel);
        }

        var now = time.GetUtcNow();
        if (record.RevokedAt is null)
        {
            record.RevokedAt = now;
            await CommitAsync(actor, "grant.revoke", record.Label, null, ct);
        }

        return AdminResult<GrantView>.Ok(ToView(record, now));
    }

    /// <summary>Replaces a grant's token; the old token stops working on the next request, sessions stay bound to the grant.</summary>
    public async Task<AdminResult<IssuedGrant>> RotateGrantAsync(string idOrLabel, string actor, CancellationToken ct = default)
    {
        var record = await FindGrantAsync(idOrLabel, ct);
        if (record is null)
        {
            return NotFound<IssuedGrant>("grant", idOrLabel);
        }

        var now = time.GetUtcNow();
        if (record.RevokedAt is not null)
        {
            return AdminResult<IssuedGrant>.Fail(AdminFailure.Conflict, $"Grant '{record.Label}' is revoked; create a new grant instead of rotating it.");
        }

        var token = GrantToken.Create();
        record.TokenHash = GrantToken.Hash(token);
        record.RotatedAt = now;
        await CommitAsync(actor, "grant.rotate", record.Label, null, ct);
        return AdminResult<IssuedGrant>.Ok(new IssuedGrant(ToView(record, now), token));
    }

    /// <summary>Records when grants were last used (batched by the gateway, off the request path).</summary>
    public async Task RecordGrantUsageAsync(IReadOnlyDictionary<Guid, DateTimeOffset> lastUsed, CancellationToken ct = default)
    {
        foreach (var (id, at) in lastUsed)
        {
            var record = await db.Grants.FindAsync([id], ct);
            if (record is not null && (record.LastUsedAt is null || record.LastUsedAt < at))
            {
                record.LastUsedAt = at;
            }
        }

        // Usage is not configuration: no revision bump, no reload.
        await db.SaveChangesAsync(ct);
    }

    private async Task<GrantRecord?> FindGrantAsync(string idOrLabel, CancellationToken ct) =>
        Guid.TryParse(idOrLabel, out var id)
            ? await db.Grants.Include(g => g.Servers).FirstOrDefaultAsync(g => g.Id == id, ct)
            : await db.Grants.Include(g => g.Servers).FirstOrDefaultAsync(g => g.Label == idOrLabel, ct);

    /// <summary>Revokes the server's stored upstream tokens at the provider; a failure is reported, never a reason to keep them.</summary>
    private async Task<string> RevokeCredentialsAsync(ServerDefinition previous, CancellationToken ct)
    {
        if (credentials is null)
        {
            return "not revoked (no upstream OAuth client in this process)";
        }

        try
        {
            return await credentials.RevokeAllAsync(previous, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever went wrong at the provider, the tokens are deleted here all the same: the audit entry says so.
            return $"revocation failed ({ex.GetType().Name})";
        }
    }

    private Task CommitAsync(string actor, string action, string target, string? details, CancellationToken ct) =>
        ConfigurationCommit.SaveAsync(db, time, onChanged, actor, action, target, details, ct);

    private string SealHeaders(IEnumerable<KeyValuePair<string, string>> headers) =>
        SnapshotLoader.WriteHeaders(headers.Select(h => new UpstreamHeader(h.Key, vault.Protect(h.Value))));

    private bool HeadersEqual(IReadOnlyList<UpstreamHeader> stored, IReadOnlyList<KeyValuePair<string, string>> wanted)
    {
        if (stored.Count != wanted.Count)
        {
            return false;
        }

        for (var i = 0; i < stored.Count; i++)
        {
            if (!string.Equals(stored[i].Name, wanted[i].Key, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            try
            {
                if (vault.Unprotect(stored[i].ProtectedValue) != wanted[i].Value)
                {
                    return false;
                }
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                return false;
            }
        }

        return true;
    }

    private static string AuthModeOf(ServerSpec spec) =>
        spec.OAuth is not null ? "oauth" : spec.Headers.Count > 0 ? "headers" : "none";

    private UpstreamOAuthSettings? SealOAuth(OAuthSpec? spec) => spec is null ? null : new UpstreamOAuthSettings
    {
        Grant = spec.Grant is "client_credentials" or "client-credentials" ? UpstreamOAuthGrant.ClientCredentials : UpstreamOAuthGrant.AuthorizationCode,
        ClientId = spec.ClientId,
        ProtectedClientSecret = spec.ClientSecret is { } secret ? vault.Protect(secret) : null,
        ProtectedPrivateKey = spec.PrivateKeyPem is { } pem ? vault.Protect(pem) : null,
        PrivateKeyId = spec.PrivateKeyId,
        TokenEndpointAuthMethod = spec.AuthMethod,
        Scopes = spec.Scopes,
        AllowLoopback = spec.AllowLoopback,
        AssumePkce = spec.AssumePkce,
        PerUser = spec.PerUser,
    };

    private bool OAuthEqual(UpstreamOAuthSettings? stored, OAuthSpec? wanted)
    {
        if (stored is null || wanted is null)
        {
            return stored is null && wanted is null;
        }

        try
        {
            return stored.Grant == SealOAuth(wanted with { ClientSecret = null, PrivateKeyPem = null })!.Grant
                && stored.ClientId == wanted.ClientId && stored.PrivateKeyId == wanted.PrivateKeyId
                && stored.TokenEndpointAuthMethod == wanted.AuthMethod && stored.Scopes == wanted.Scopes
                && stored.AllowLoopback == wanted.AllowLoopback && stored.AssumePkce == wanted.AssumePkce && stored.PerUser == wanted.PerUser
                && (stored.ProtectedClientSecret is null ? wanted.ClientSecret is null : wanted.ClientSecret is not null && vault.Unprotect(stored.ProtectedClientSecret) == wanted.ClientSecret)
                && (stored.ProtectedPrivateKey is null ? wanted.PrivateKeyPem is null : wanted.PrivateKeyPem is not null && vault.Unprotect(stored.ProtectedPrivateKey) == wanted.PrivateKeyPem);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private static string? Validate(ServerSpec spec)
    {
        if (!ServerName.TryValidate(spec.Name, out var problem)
            || !UpstreamUrl.TryParse(spec.Url, out _, out problem)
            || !TransportNames.TryParse(spec.Transport, out _, out problem))
        {
            return problem;
        }

        if (spec.OAuth is { } oauth)
        {
            if (spec.Headers.Count > 0)
            {
                return "A server uses either static headers or OAuth, not both: drop --header or the OAuth options.";
            }

            if (oauth.Grant is not (null or "authorization_code" or "authorization-code" or "client_credentials" or "client-credentials"))
            {
                return $"Unknown OAuth grant '{oauth.Grant}': use authorization_code (a person connects once in a browser) or client_credentials (headless).";
            }

            if (oauth.Grant is "client_credentials" or "client-credentials" && oauth.ClientId is null)
            {
                return "The client_credentials grant needs pre-registered credentials: pass --client-id with --client-secret or --private-key.";
            }

            if (oauth.AuthMethod is not (null or "client_secret_basic" or "client_secret_post" or "private_key_jwt" or "none"))
            {
                return $"Unknown token endpoint auth method '{oauth.AuthMethod}': use client_secret_basic, client_secret_post, private_key_jwt or none.";
            }

            if ((oauth.ClientSecret is not null || oauth.PrivateKeyPem is not null) && oauth.ClientId is null)
            {
                return "A client secret or private key needs its --client-id.";
            }

            if (oauth.PrivateKeyPem is { } pem && !LooksLikePrivateKey(pem))
            {
                return "--private-key must be a PEM private key (RSA or EC, '-----BEGIN … PRIVATE KEY-----').";
            }
        }

        foreach (var (name, value) in spec.Headers)
        {
            if (!HeaderNamePattern().IsMatch(name))
            {
                return $"'{name}' is not a valid HTTP header name.";
            }

            if (ReservedHeaders.Contains(name))
            {
                return $"Header '{name}' is managed by Gatehouse and cannot be set for an upstream.";
            }

            if (value.Length == 0 || value.Any(c => c is '\r' or '\n' or '\0'))
            {
                return $"The value of header '{name}' is empty or contains a line break.";
            }
        }

        return null;
    }

    private static bool LooksLikePrivateKey(string pem)
    {
        try
        {
            using var rsa = System.Security.Cryptography.RSA.Create();
            rsa.ImportFromPem(pem);
            return true;
        }
        catch (ArgumentException)
        {
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
        }

        try
        {
            using var ec = System.Security.Cryptography.ECDsa.Create();
            ec.ImportFromPem(pem);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Mcp-Session-Id", "MCP-Protocol-Version",
        "Mcp-Method", "Mcp-Name", "Last-Event-ID", "Accept", "Upgrade", "TE", "Keep-Alive",
    };

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")]
    private static partial Regex HeaderNamePattern();

    private static string NormalizeTransport(string? transport)
    {
        TransportNames.TryParse(transport, out var parsed, out _);
        return TransportNames.Format(parsed);
    }

    private static string IdentityNote(ServerSpec spec) => spec.ForwardIdentityHeaders ? " forward-identity-headers=true" : "";

    private static string HeaderNames(ServerSpec spec) => spec.Headers.Count == 0 ? "(none)" : string.Join(',', spec.Headers.Select(h => h.Key));

    private static AdminResult<T> NotFound<T>(string kind, string name) =>
        AdminResult<T>.Fail(AdminFailure.NotFound, $"No {kind} '{name}'. 'gatehouse {kind} list' shows what exists.");

    internal static ServerView ToView(ServerRecord r, UpstreamConnectionRecord? connection = null) => new(
        r.Id, r.Name, r.Url, r.Transport, r.AuthMode, SnapshotLoader.ReadHeaders(r.HeadersJson).Select(h => h.Name).ToList(), r.Enabled, r.CreatedAt, r.UpdatedAt,
        ToOAuthView(SnapshotLoader.ReadOAuth(r.OAuthJson)), r.AuthMode == "oauth" ? ToView(connection) : null, r.ForwardIdentityHeaders);

    private static OAuthView? ToOAuthView(UpstreamOAuthSettings? s) => s is null ? null : new(
        s.Grant == UpstreamOAuthGrant.ClientCredentials ? "client_credentials" : "authorization_code", s.ClientId, s.ProtectedClientSecret is not null,
        s.ProtectedPrivateKey is not null, s.TokenEndpointAuthMethod, s.Scopes, s.AllowLoopback, s.PerUser);

    /// <summary>The view of a shared connection; <c>not_connected</c> when there is none.</summary>
    public static ConnectionView ToView(UpstreamConnectionRecord? c) => c is null
        ? new("not_connected", null, null, null, null, null, false, null, null, null, null)
        : new(c.Status, c.Issuer, c.Scopes, c.ClientId, c.ClientSource, c.AccessTokenExpiresAt, c.RefreshTokenSealed is not null, c.RefreshTokenExpiresAt,
            c.ConnectedAt, c.LastRefreshAt, c.LastError);

    internal static GrantView ToView(GrantRecord r, DateTimeOffset now)
    {
        var status = r.RevokedAt is not null ? "revoked" : r.ExpiresAt is { } e && e <= now ? "expired" : "active";
        return new(r.Id, r.Label, r.Servers.Select(s => s.ServerName).Order(StringComparer.Ordinal).ToList(), status, r.CreatedAt, r.ExpiresAt, r.RevokedAt, r.LastUsedAt, r.RotatedAt, r.OwnerUserId);
    }
}
