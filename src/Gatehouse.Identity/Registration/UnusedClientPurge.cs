using System.Text.Json;
using Gatehouse.Identity.Server;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;

namespace Gatehouse.Identity.Registration;

/// <summary>
/// Removes clients that anonymous callers created and nobody ever used: dynamic registrations and Client ID Metadata
/// Document applications with no authorization and no token, older than <see cref="AuthorizationServerOptions.UnusedClientRetention"/>.
/// </summary>
/// <remarks>
/// Registration is open to anyone (RFC 7591) and a metadata document client is created at its first authorize, so
/// without a purge unauthenticated traffic could grow the applications table without bound. A registration's age is
/// its <c>client.register</c> audit event; a metadata document client's is its cached copy's refresh time, which moves
/// on every use. Runs on <see cref="AuthorizationServerOptions.ClientMetadataClock"/> every <see cref="AuthorizationServerOptions.UnusedClientPurgeInterval"/>.
/// </remarks>
public sealed class UnusedClientPurge(IServiceScopeFactory scopes, AuthorizationServerOptions options, ILogger<UnusedClientPurge> logger) : BackgroundService
{
    /// <summary>Removes the unused clients older than the retention now; returns how many.</summary>
    public async Task<int> PurgeOnceAsync(CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var now = options.ClientMetadataClock.GetUtcNow();
        var cutoff = now - options.UnusedClientRetention;

        // Read in memory: the audit table's times are not comparable in SQL on SQLite, and registrations are rate-limited.
        var registeredAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var e in await db.AuditEvents.AsNoTracking().Where(e => e.Action == "client.register").Select(e => new { e.Target, e.At }).ToListAsync(cancellationToken))
        {
            registeredAt[e.Target] = e.At;
        }

        var stale = new List<object>();
        await foreach (var application in applications.ListAsync(count: null, offset: null, cancellationToken))
        {
            var clientId = await applications.GetClientIdAsync(application, cancellationToken);
            if (clientId is null || !await IsOldAsync(applications, application, clientId, registeredAt, cutoff, cancellationToken))
            {
                continue;
            }

            var id = await applications.GetIdAsync(application, cancellationToken);
            if (await authorizations.FindByApplicationIdAsync(id!, cancellationToken).AnyAsync(cancellationToken)
                || await tokens.FindByApplicationIdAsync(id!, cancellationToken).AnyAsync(cancellationToken))
            {
                continue;
            }

            stale.Add(application);
        }

        foreach (var application in stale)
        {
            var clientId = await applications.GetClientIdAsync(application, cancellationToken);
            await applications.DeleteAsync(application, cancellationToken);
            db.AuditEvents.Add(new AuditEventRecord
            {
                At = now, Actor = "retention", Action = "client.purge", Target = $"client:{clientId}",
                Details = $"never used within {options.UnusedClientRetention.TotalDays:0} days",
            });
        }

        await db.SaveChangesAsync(cancellationToken);
        return stale.Count;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.UnusedClientPurgeInterval, options.ClientMetadataClock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (await PurgeOnceAsync(stoppingToken) is var removed and > 0)
                    {
                        RegistrationLog.UnusedClientsPurged(logger, removed);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RegistrationLog.UnusedClientPurgeFailed(logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<bool> IsOldAsync(
        IOpenIddictApplicationManager applications, object application, string clientId, Dictionary<string, DateTimeOffset> registeredAt, DateTimeOffset cutoff, CancellationToken ct)
    {
        if (clientId.StartsWith("ghc_", StringComparison.Ordinal))
        {
            return registeredAt.TryGetValue("client:" + clientId, out var at) && at < cutoff;
        }

        if (!Uri.TryCreate(clientId, UriKind.Absolute, out _))
        {
            // Pre-registered clients and Gatehouse's own are never purged.
            return false;
        }

        var properties = await applications.GetPropertiesAsync(application, ct);
        return properties.TryGetValue(ClientMetadataDocumentHandler.RefreshAtProperty, out var refreshAt)
               && refreshAt.ValueKind == JsonValueKind.Number && DateTimeOffset.FromUnixTimeSeconds(refreshAt.GetInt64()) < cutoff;
    }
}
