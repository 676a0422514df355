using System.Text.Json;
using Gatehouse.Identity.Registration;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using Microsoft.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Identity.Server;

/// <summary>
/// Makes a client whose <c>client_id</c> is an https URL known to OpenIddict before OpenIddict validates the request: it
/// fetches the Client ID Metadata Document when the client is new or its cached document is stale, and creates or updates
/// the public PKCE application keyed by that URL. OpenIddict then checks the redirect URI against the document's
/// <c>redirect_uris</c> exactly, as for any other client.
/// </summary>
/// <remarks>
/// A document that cannot be fetched or used rejects the request with <c>invalid_client</c> and the reason; at the
/// authorization endpoint this is shown to the person, never redirected, because the redirect URI is not validated yet.
/// When a refreshed document changes the redirect URIs, earlier approvals of that client are revoked: the person approved
/// sending codes to the hosts they were shown, not to new ones.
/// </remarks>
internal sealed class ClientMetadataDocumentHandler(
    ClientMetadataDocumentFetcher fetcher, AuthorizationServerOptions options, IOpenIddictApplicationManager applications,
    IOpenIddictAuthorizationManager authorizations, GatehouseDbContext db, TimeProvider time, ClientCreationLimiter creations)
    : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>, IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    /// <summary>The application property holding when the document must be fetched again (Unix seconds); only document clients have it.</summary>
    internal const string RefreshAtProperty = "gatehouse_cimd_refresh_at";

    /// <summary>At the authorization endpoint, right after OpenIddict checked that a client id is present.</summary>
    public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseScopedHandler<ClientMetadataDocumentHandler>()
        .SetOrder(OpenIddictServerHandlers.Authentication.ValidateClientIdParameter.Descriptor.Order + 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>At the token endpoint, before OpenIddict authenticates the client.</summary>
    public static OpenIddictServerHandlerDescriptor TokenDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
        .UseScopedHandler<ClientMetadataDocumentHandler>()
        .SetOrder(int.MinValue + 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return EnsureAsync(context, context.ClientId, context.CancellationToken);
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return EnsureAsync(context, context.ClientId, context.CancellationToken);
    }

    private async ValueTask EnsureAsync(BaseValidatingContext context, string? clientId, CancellationToken ct)
    {
        if (!ClientMetadataDocumentFetcher.IsUrlClientId(clientId))
        {
            return;
        }

        if (fetcher.CheckUrl(clientId!) is { } invalid)
        {
            context.Reject(OpenIddictConstants.Errors.InvalidClient, invalid);
            return;
        }

        if (await IsFreshAsync(clientId!, ct))
        {
            return;
        }

        // A new client is a stored application that anyone can make Gatehouse create: rate-limited per address, like registration.
        if (await applications.FindByClientIdAsync(clientId!, ct) is null
            && !creations.TryAcquire(context.Transaction.GetHttpRequest()?.HttpContext.Connection.RemoteIpAddress?.ToString()))
        {
            context.Reject(OpenIddictConstants.Errors.TemporarilyUnavailable,
                $"Too many new clients from this address (at most {options.RegistrationsPerWindow} per {options.RegistrationWindow.TotalMinutes:0} minutes); retry later.");
            return;
        }

        using (await fetcher.EnterAsync(clientId!, ct))
        {
            // Another request may have refreshed it while this one waited.
            if (await IsFreshAsync(clientId!, ct))
            {
                return;
            }

            var result = await fetcher.FetchAsync(clientId!, ct);
            if (result.Document is not { } document)
            {
                context.Reject(OpenIddictConstants.Errors.InvalidClient, result.Problem);
                return;
            }

            await StoreAsync(clientId!, document, result.Lifetime, ct);
        }
    }

    private async Task<bool> IsFreshAsync(string clientId, CancellationToken ct)
    {
        if (await applications.FindByClientIdAsync(clientId, ct) is not { } application)
        {
            return false;
        }

        var properties = await applications.GetPropertiesAsync(application, ct);
        // An application with a URL id that Gatehouse did not create from a document (none today) is left alone.
        return !properties.TryGetValue(RefreshAtProperty, out var refreshAt)
            || (refreshAt.ValueKind == JsonValueKind.Number && options.ClientMetadataClock.GetUtcNow().ToUnixTimeSeconds() < refreshAt.GetInt64());
    }

    private async Task StoreAsync(string clientId, ClientMetadata document, TimeSpan lifetime, CancellationToken ct)
    {
        var redirectUris = document.RedirectUris!;
        var host = new Uri(clientId).Authority;
        var descriptor = new OpenIddictApplicationDescriptor();
        var existing = await applications.FindByClientIdAsync(clientId, ct);
        HashSet<string>? previousRedirects = null;
        if (existing is not null)
        {
            await applications.PopulateAsync(descriptor, existing, ct);
            previousRedirects = descriptor.RedirectUris.Select(u => u.OriginalString).ToHashSet(StringComparer.Ordinal);
        }

        ClientMetadataRules.Describe(descriptor, clientId, secret: null, ClientMetadataRules.Name(document) ?? $"Client at {host}", redirectUris);
        var refreshAt = options.ClientMetadataClock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        descriptor.Properties[RefreshAtProperty] = JsonSerializer.SerializeToElement(refreshAt, RegistrationJsonContext.Default.Int64);

        string action;
        if (existing is null)
        {
            await applications.CreateAsync(descriptor, ct);
            action = "client.metadata-document";
        }
        else
        {
            await applications.UpdateAsync(existing, descriptor, ct);
            action = "client.metadata-document.refresh";
            if (!previousRedirects!.SetEquals(redirectUris))
            {
                var id = await applications.GetIdAsync(existing, ct);
                await foreach (var authorization in authorizations.FindByApplicationIdAsync(id!, ct))
                {
                    await authorizations.TryRevokeAsync(authorization, ct);
                }

                action = "client.metadata-document.redirects-changed";
            }
        }

        db.AuditEvents.Add(new AuditEventRecord
        {
            At = time.GetUtcNow(), Actor = "client-metadata", Action = action, Target = $"client:{clientId}",
            Details = $"{descriptor.DisplayName}; redirect hosts: {ClientMetadataRules.RedirectHosts(redirectUris)}; trusted for {lifetime.TotalMinutes:0} min",
        });
        await db.SaveChangesAsync(ct);
    }
}
