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

    /// <summary>The path of the OAuth redirect URI.</summary>
    public const string CallbackPath = "/oauth/callback";

    /// <summary>The path of Gatehouse's Client ID Metadata Document.</summary>
    public const string ClientMetadataPath = "/oauth/client-metadata.json";

    /// <summary>The path prefix of connect links.</summary>
    public const string ConnectPath = "/oauth/connect";

    /// <summary>Records the public base URL (no trailing slash).</summary>
    public static async Task SaveAsync(GatehouseDbContext db, Uri publicUrl, DateTimeOffset now, CancellationToken ct)
    {
        var value = Normalize(publicUrl);
        var record = await db.Settings.FirstOrDefaultAsync(s => s.Key == PublicUrlKey, ct);
        if (record is null)
        {
            db.Settings.Add(new GatewaySettingRecord { Key = PublicUrlKey, Value = value, UpdatedAt = now });
        }
        else if (record.Value != value)
        {
            record.Value = value;
            record.UpdatedAt = now;
        }

        await db.SaveChangesAsync(ct);
    }

    /// <summary>The recorded public base URL, or null when no gateway has started on this database yet.</summary>
    public static async Task<Uri?> LoadAsync(GatehouseDbContext db, CancellationToken ct)
    {
        var value = await db.Settings.AsNoTracking().Where(s => s.Key == PublicUrlKey).Select(s => s.Value).FirstOrDefaultAsync(ct);
        return value is null ? null : new Uri(value);
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
