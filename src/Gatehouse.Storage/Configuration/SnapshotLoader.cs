using System.Text.Json;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Grants;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;

namespace Gatehouse.Storage.Configuration;

/// <summary>Maps stored records to domain objects and builds <see cref="GatewaySnapshot"/>s.</summary>
public static class SnapshotLoader
{
    /// <summary>Reads the whole configuration into a new snapshot.</summary>
    public static GatewaySnapshot Load(GatehouseDbContext db)
    {
        var revision = db.ConfigRevisions.AsNoTracking().Select(r => r.Revision).FirstOrDefault();
        var servers = db.Servers.AsNoTracking().ToList().Select(ToDomain);
        var grants = db.Grants.AsNoTracking().Include(g => g.Servers).ToList().Select(ToDomain);
        var policies = new Dictionary<string, CompiledPolicy>(StringComparer.Ordinal);
        foreach (var record in db.Policies.AsNoTracking().ToList())
        {
            // Documents were validated when applied; one that no longer compiles (e.g. after an engine change) is left
            // out, and the snapshot then denies everything it is attached to rather than opening access.
            if (PolicyDocumentParser.Parse(record.Document).Policy is { } policy)
            {
                policies[record.Name] = policy;
            }
        }

        var disabledUsers = db.Users.AsNoTracking().Where(u => u.DisabledAt != null).Select(u => new { u.Id, u.DisabledAt }).ToList()
            .ToDictionary(u => u.Id, u => u.DisabledAt!.Value);
        // Users without groups or a policy have no layer of their own; leaving them out keeps the snapshot small.
        var users = db.Users.AsNoTracking().Where(u => u.PolicyName != null || u.GroupsJson != "[]")
            .Select(u => new { u.Id, u.GroupsJson, u.PolicyName }).ToList()
            .Select(u => new GatewayUser(u.Id, ReadGroups(u.GroupsJson), u.PolicyName));
        var groupPolicies = db.GroupPolicies.AsNoTracking().ToDictionary(g => g.Group, g => g.PolicyName, StringComparer.Ordinal);
        return new GatewaySnapshot(revision, servers, grants, policies, disabledUsers, users, groupPolicies, RevokedAccessTokens(db));
    }

    // Revoked access tokens that could still pass the proxy's local check (signature and expiry): the ones not yet
    // expired, with a margin for the validator's clock skew. Revocations older than an access token's lifetime drop out.
    private static List<string> RevokedAccessTokens(GatehouseDbContext db)
    {
        var since = DateTime.UtcNow - AccessTokenClockSkewMargin;
        return db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking()
            .Where(t => t.ExpirationDate > since
                && (t.Type == OpenIddictConstants.TokenTypeHints.AccessToken || t.Type == OpenIddictConstants.TokenTypeIdentifiers.AccessToken)
                && (t.Status == OpenIddictConstants.Statuses.Revoked || t.Authorization!.Status == OpenIddictConstants.Statuses.Revoked))
            .Select(t => t.Id!)
            .ToList();
    }

    private static readonly TimeSpan AccessTokenClockSkewMargin = TimeSpan.FromMinutes(2);

    /// <summary>Reads a user's groups column (a JSON array of names; anything else counts as no groups).</summary>
    public static IReadOnlyList<string> ReadGroups(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StorageJsonContext.Default.StringArray) ?? [];
        }
        catch (JsonException)
        {
            // Written at sign-in from the identity provider's claim; a malformed value must not stop the gateway loading.
            return [];
        }
    }

    /// <summary>Maps a server record.</summary>
    public static ServerDefinition ToDomain(ServerRecord record)
    {
        TransportNames.TryParse(record.Transport, out var transport, out _);
        return new ServerDefinition
        {
            Id = record.Id,
            Name = record.Name,
            Url = new Uri(record.Url),
            Transport = transport,
            AuthMode = record.AuthMode switch
            {
                "headers" => UpstreamAuthMode.Headers,
                "oauth" => UpstreamAuthMode.OAuth,
                _ => UpstreamAuthMode.None,
            },
            OAuth = ReadOAuth(record.OAuthJson),
            Headers = ReadHeaders(record.HeadersJson),
            Enabled = record.Enabled,
            ForwardIdentityHeaders = record.ForwardIdentityHeaders,
            PolicyName = record.PolicyName,
            CreatedAt = record.CreatedAt,
        };
    }

    /// <summary>Maps a grant record (with its servers loaded).</summary>
    public static Grant ToDomain(GrantRecord record) => new()
    {
        Id = record.Id,
        Label = record.Label,
        Servers = record.Servers.Select(s => s.ServerName).ToHashSet(StringComparer.Ordinal),
        TokenHash = record.TokenHash,
        CreatedAt = record.CreatedAt,
        ExpiresAt = record.ExpiresAt,
        RevokedAt = record.RevokedAt,
        RotatedAt = record.RotatedAt,
        PolicyName = record.PolicyName,
        OwnerUserId = record.OwnerUserId,
    };

    /// <summary>Reads the sealed headers column.</summary>
    public static IReadOnlyList<UpstreamHeader> ReadHeaders(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.ListStoredHeader)?.Select(h => new UpstreamHeader(h.Name, h.Value)).ToList() ?? [];

    /// <summary>Reads the OAuth settings column (secrets inside stay sealed).</summary>
    public static UpstreamOAuthSettings? ReadOAuth(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize(json, StorageJsonContext.Default.UpstreamOAuthSettings);

    /// <summary>Writes the OAuth settings column.</summary>
    public static string? WriteOAuth(UpstreamOAuthSettings? settings) =>
        settings is null ? null : JsonSerializer.Serialize(settings, StorageJsonContext.Default.UpstreamOAuthSettings);

    /// <summary>The stored spelling of an auth mode.</summary>
    public static string AuthModeName(UpstreamAuthMode mode) => mode switch
    {
        UpstreamAuthMode.Headers => "headers",
        UpstreamAuthMode.OAuth => "oauth",
        _ => "none",
    };

    /// <summary>Writes the sealed headers column.</summary>
    public static string WriteHeaders(IEnumerable<UpstreamHeader> headers) =>
        JsonSerializer.Serialize(headers.Select(h => new StoredHeader(h.Name, h.ProtectedValue)).ToList(), StorageJsonContext.Default.ListStoredHeader);
}
