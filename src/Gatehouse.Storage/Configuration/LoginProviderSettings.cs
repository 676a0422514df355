using System.Text.Json;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Configuration;

/// <summary>
/// The organisation's OpenID Connect identity provider that people sign in to Gatehouse with, as stored in
/// <c>gateway_settings</c> under <see cref="Key"/> (one JSON value; the client secret inside it is sealed by the vault).
/// </summary>
/// <param name="Issuer">The provider's issuer URL (discovery is read from <c>{issuer}/.well-known/openid-configuration</c>).</param>
/// <param name="ClientId">Gatehouse's client id at the provider.</param>
/// <param name="ProtectedClientSecret">The client secret, sealed.</param>
/// <param name="GroupsClaim">The claim that lists the person's groups.</param>
/// <param name="Scopes">Scopes requested besides <c>openid profile email</c>, space-separated.</param>
/// <param name="DisplayName">What the login page's button says: "Sign in with …".</param>
/// <param name="AllowLoopback">The provider may be reached over plain http on a loopback address (development and tests).</param>
public sealed record LoginProviderSettings(
    string Issuer, string ClientId, string ProtectedClientSecret, string GroupsClaim, string? Scopes, string DisplayName, bool AllowLoopback)
{
    /// <summary>The <c>gateway_settings</c> key.</summary>
    public const string Key = "login_provider";

    /// <summary>The stored value of the setting, or null when none is configured (no database change).</summary>
    public static async Task<string?> ReadStoredAsync(GatehouseDbContext db, CancellationToken ct) =>
        await db.Settings.AsNoTracking().Where(s => s.Key == Key).Select(s => s.Value).FirstOrDefaultAsync(ct);

    /// <summary>The stored value of the setting, read synchronously (options are built synchronously).</summary>
    public static string? ReadStored(GatehouseDbContext db) =>
        db.Settings.AsNoTracking().Where(s => s.Key == Key).Select(s => s.Value).FirstOrDefault();

    /// <summary>Parses a stored value.</summary>
    public static LoginProviderSettings? Parse(string? stored) =>
        string.IsNullOrEmpty(stored) ? null : JsonSerializer.Deserialize(stored, StorageJsonContext.Default.LoginProviderSettings);

    /// <summary>The configured provider, or null.</summary>
    public static async Task<LoginProviderSettings?> LoadAsync(GatehouseDbContext db, CancellationToken ct) => Parse(await ReadStoredAsync(db, ct));

    /// <summary>Stores (replaces) the setting in <paramref name="db"/>; the caller saves.</summary>
    public async Task StageAsync(GatehouseDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var value = JsonSerializer.Serialize(this, StorageJsonContext.Default.LoginProviderSettings);
        if (await db.Settings.FirstOrDefaultAsync(s => s.Key == Key, ct) is { } row)
        {
            row.Value = value;
            row.UpdatedAt = now;
        }
        else
        {
            db.Settings.Add(new GatewaySettingRecord { Key = Key, Value = value, UpdatedAt = now });
        }
    }

    /// <summary>Removes the setting from <paramref name="db"/>; the caller saves. False when there was none.</summary>
    public static async Task<bool> StageRemovalAsync(GatehouseDbContext db, CancellationToken ct)
    {
        if (await db.Settings.FirstOrDefaultAsync(s => s.Key == Key, ct) is not { } row)
        {
            return false;
        }

        db.Settings.Remove(row);
        return true;
    }

    /// <summary>Re-seals the secret of a stored value (key rotation).</summary>
    internal static string Reseal(string stored, Func<string, string> map)
    {
        var settings = Parse(stored)!;
        return JsonSerializer.Serialize(settings with { ProtectedClientSecret = map(settings.ProtectedClientSecret) }, StorageJsonContext.Default.LoginProviderSettings);
    }
}
