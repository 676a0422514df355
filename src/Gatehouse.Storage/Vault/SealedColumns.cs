using System.Globalization;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Vault;

/// <summary>Every database column that holds values sealed by the vault, for <see cref="KeyRotation"/>.</summary>
internal static class SealedColumns
{
    /// <summary>The sealed columns.</summary>
    /// <remarks>
    /// A NEW SEALED COLUMN MUST BE ADDED HERE. Key rotation re-seals exactly these values and then deletes the old data
    /// keys, so a sealed value stored anywhere else would become unreadable. (A rotation would notice and refuse to
    /// commit only if the value were here; a test in <c>KeyRotationTests</c> fails for a <c>…Sealed</c> property missing here.)
    /// </remarks>
    public static readonly IReadOnlyList<ISealedColumn> All =
    [
        new SealedColumn<ServerRecord>("servers", nameof(ServerRecord.HeadersJson), db => db.Servers, Describe, (row, map) =>
        {
            var headers = SnapshotLoader.ReadHeaders(row.HeadersJson);
            if (headers.Count > 0)
            {
                row.HeadersJson = SnapshotLoader.WriteHeaders(headers.Select(h => h with { ProtectedValue = map(h.ProtectedValue) }).ToList());
            }

            return headers.Count;
        }),
        new SealedColumn<ServerRecord>("servers", nameof(ServerRecord.OAuthJson), db => db.Servers, Describe, (row, map) =>
        {
            if (SnapshotLoader.ReadOAuth(row.OAuthJson) is not { } settings)
            {
                return 0;
            }

            var count = 0;
            row.OAuthJson = SnapshotLoader.WriteOAuth(settings with
            {
                ProtectedClientSecret = Map(settings.ProtectedClientSecret, map, ref count),
                ProtectedPrivateKey = Map(settings.ProtectedPrivateKey, map, ref count),
            });
            return count;
        }),
        Nullable<OAuthClientRecord>("oauth_clients", nameof(OAuthClientRecord.ClientSecretSealed), db => db.OAuthClients, c => c.Id.ToString(),
            c => c.ClientSecretSealed, (c, v) => c.ClientSecretSealed = v),
        Nullable<OAuthClientRecord>("oauth_clients", nameof(OAuthClientRecord.RegistrationAccessTokenSealed), db => db.OAuthClients, c => c.Id.ToString(),
            c => c.RegistrationAccessTokenSealed, (c, v) => c.RegistrationAccessTokenSealed = v),
        Nullable<UpstreamConnectionRecord>("upstream_connections", nameof(UpstreamConnectionRecord.AccessTokenSealed), db => db.UpstreamConnections, c => c.Id.ToString(),
            c => c.AccessTokenSealed, (c, v) => c.AccessTokenSealed = v),
        Nullable<UpstreamConnectionRecord>("upstream_connections", nameof(UpstreamConnectionRecord.RefreshTokenSealed), db => db.UpstreamConnections, c => c.Id.ToString(),
            c => c.RefreshTokenSealed, (c, v) => c.RefreshTokenSealed = v),
        Nullable<OAuthPendingFlowRecord>("oauth_pending_flows", nameof(OAuthPendingFlowRecord.CodeVerifierSealed), db => db.OAuthPendingFlows, f => f.Id,
            f => f.CodeVerifierSealed, (f, v) => f.CodeVerifierSealed = v!),
        Nullable<OAuthPendingFlowRecord>("oauth_pending_flows", nameof(OAuthPendingFlowRecord.AuthorizationUrlSealed), db => db.OAuthPendingFlows, f => f.Id,
            f => f.AuthorizationUrlSealed, (f, v) => f.AuthorizationUrlSealed = v!),
        Nullable<AuthorizationServerKeyRecord>("authorization_server_keys", nameof(AuthorizationServerKeyRecord.KeySealed), db => db.AuthorizationServerKeys, k => k.Id,
            k => k.KeySealed, (k, v) => k.KeySealed = v!),
        // Only the login provider's row holds a sealed value (its client secret, inside the JSON).
        new SealedColumn<GatewaySettingRecord>("gateway_settings", nameof(GatewaySettingRecord.Value),
            db => db.Settings.Where(s => s.Key == LoginProviderSettings.Key), s => s.Key, (row, map) =>
            {
                row.Value = LoginProviderSettings.Reseal(row.Value, map);
                return 1;
            }),
        Nullable<DataProtectionKeyRecord>("data_protection_keys", nameof(DataProtectionKeyRecord.XmlSealed), db => db.DataProtectionKeys, k => k.Id.ToString(CultureInfo.InvariantCulture),
            k => k.XmlSealed, (k, v) => k.XmlSealed = v!),
    ];

    private static string Describe(ServerRecord server) => $"{server.Id} (server '{server.Name}')";

    private static string? Map(string? value, Func<string, string> map, ref int count)
    {
        if (value is null)
        {
            return null;
        }

        count++;
        return map(value);
    }

    /// <summary>A column holding one sealed value, or null.</summary>
    private static SealedColumn<TRow> Nullable<TRow>(
        string table, string column, Func<GatehouseDbContext, IQueryable<TRow>> rows, Func<TRow, string> describe, Func<TRow, string?> get, Action<TRow, string?> set)
        where TRow : class =>
        new(table, column, rows, describe, (row, map) =>
        {
            var count = 0;
            var value = Map(get(row), map, ref count);
            if (count > 0)
            {
                set(row, value);
            }

            return count;
        });
}

/// <summary>One column holding sealed values.</summary>
internal interface ISealedColumn
{
    /// <summary>The table's name.</summary>
    string Table { get; }

    /// <summary>The column's name.</summary>
    string Column { get; }

    /// <summary>
    /// Loads every row (tracked) and replaces each sealed value with <c>map(row description, value)</c>; the caller
    /// saves. Returns the number of rows and of values.
    /// </summary>
    Task<(int Rows, int Values)> RewriteAsync(GatehouseDbContext db, Func<string, string, string> map, CancellationToken ct);

    /// <summary>Reads every sealed value as stored, with its row's description (nothing is tracked or changed).</summary>
    Task<List<(string Row, string Value)>> ReadAsync(GatehouseDbContext db, CancellationToken ct);
}

/// <summary>A sealed column of <typeparamref name="TRow"/>.</summary>
/// <param name="Table">The table's name.</param>
/// <param name="Column">The column's name.</param>
/// <param name="Rows">The table.</param>
/// <param name="Describe">How a row is named in reports and errors (its id; never a secret).</param>
/// <param name="Map">Replaces every sealed value of the row's column with the function's result; returns how many there were.</param>
internal sealed record SealedColumn<TRow>(
    string Table, string Column, Func<GatehouseDbContext, IQueryable<TRow>> Rows, Func<TRow, string> Describe, Func<TRow, Func<string, string>, int> Map)
    : ISealedColumn
    where TRow : class
{
    public async Task<(int Rows, int Values)> RewriteAsync(GatehouseDbContext db, Func<string, string, string> map, CancellationToken ct)
    {
        var rows = 0;
        var values = 0;
        foreach (var row in await Rows(db).ToListAsync(ct))
        {
            var name = Describe(row);
            var count = Map(row, value => map(name, value));
            rows += count > 0 ? 1 : 0;
            values += count;
        }

        return (rows, values);
    }

    public async Task<List<(string Row, string Value)>> ReadAsync(GatehouseDbContext db, CancellationToken ct)
    {
        var found = new List<(string Row, string Value)>();
        // Map with a function that returns each value unchanged: it only collects, and the rows are not tracked.
        foreach (var row in await Rows(db).AsNoTracking().ToListAsync(ct))
        {
            var name = Describe(row);
            Map(row, value =>
            {
                found.Add((name, value));
                return value;
            });
        }

        return found;
    }
}
