using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>
/// Gatehouse's own public address, shared through the database: <c>serve</c> records it when it starts, so the CLI
/// (another process) prints connect URLs and registers redirect URIs that reach the running gateway.
/// </summary>
public static class GatewayAddress
{
    private const string PublicUrlKey = "public_url";
    private const string ClientMetadataUrlKey = "client_metadata_url";

    /// <summary>The path of the OAuth redirect URI.</summary>
    public const string CallbackPath = "/oauth/callback";

    /// <summary>The path of Gatehouse's Client ID Metadata Document.</summary>
    public const string ClientMetadataPath = "/oauth/client-metadata.json";

    /// <summary>The path prefix of connect links.</summary>
    public const string ConnectPath = "/oauth/connect";

    /// <summary>Records the public base URL (no trailing slash) and where Gatehouse's client metadata document is published (null: under the public URL).</summary>
    public static async Task SaveAsync(GatehouseDbContext db, Uri publicUrl, Uri? clientMetadataUrl, DateTimeOffset now, CancellationToken ct)
    {
        await SetAsync(db, PublicUrlKey, Normalize(publicUrl), now, ct);
        await SetAsync(db, ClientMetadataUrlKey, clientMetadataUrl?.ToString(), now, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The recorded public base URL, or null when no gateway has started on this database yet.</summary>
    public static async Task<Uri?> LoadAsync(GatehouseDbContext db, CancellationToken ct) => await GetAsync(db, PublicUrlKey, ct);

    /// <summary>The recorded published client metadata URL (<c>serve --client-metadata-url</c>), if any.</summary>
    public static async Task<Uri?> LoadClientMetadataUrlAsync(GatehouseDbContext db, CancellationToken ct) => await GetAsync(db, ClientMetadataUrlKey, ct);

    private static async Task<Uri?> GetAsync(GatehouseDbContext db, string key, CancellationToken ct)
    {
        var value = await db.Settings.AsNoTracking().Where(s => s.Key == key).Select(s => s.Value).FirstOrDefaultAsync(ct);
        return value is null ? null : new Uri(value);
    }

    private static async Task SetAsync(GatehouseDbContext db, string key, string? value, DateTimeOffset now, CancellationToken ct)
    {
        var record = await db.Settings.FirstOrDefaultAsync(s => s.Key == key, ct);
        if (value is null)
        {
            if (record is not null)
            {
                db.Settings.Remove(record);
            }
        }
        else if (record is null)
        {
            db.Settings.Add(new GatewaySettingRecord { Key = key, Value = value, UpdatedAt = now });
        }
        else if (record.Value != value)
        {
            record.Value = value;
            record.UpdatedAt = now;
        }
    }

    /// <summary>The base URL without a trailing slash.</summary>
    public static string Normalize(Uri publicUrl) => publicUrl.GetLeftPart(UriPartial.Authority) + publicUrl.AbsolutePath.TrimEnd('/');

    /// <summary>The redirect URI under <paramref name="baseUrl"/>.</summary>
    public static Uri RedirectUri(Uri baseUrl) => new(Normalize(baseUrl) + CallbackPath);

    /// <summary>The client metadata document URL under <paramref name="baseUrl"/>.</summary>
    public static Uri ClientMetadataUrl(Uri baseUrl) => new(Normalize(baseUrl) + ClientMetadataPath);

    /// <summary>The connect link for a started flow.</summary>
    public static Uri FlowUrl(Uri baseUrl, string flowToken) => new($"{Normalize(baseUrl)}{ConnectPath}/{flowToken}");
}
