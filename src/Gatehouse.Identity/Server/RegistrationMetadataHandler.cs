using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Identity.Server;

/// <summary>Adds what OpenIddict does not advertise itself to the discovery documents: the RFC 7591 registration endpoint,
/// RFC 9207 and Client ID Metadata Document support.</summary>
public sealed class RegistrationMetadataHandler : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    /// <summary>Registration of the handler in OpenIddict's pipeline.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
        .UseSingletonHandler<RegistrationMetadataHandler>()
        .SetOrder(int.MaxValue - 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if ((context.Issuer ?? context.BaseUri) is { } issuer)
        {
            context.Metadata["registration_endpoint"] = new Uri(issuer, Registration.ClientRegistrationEndpoint.Path.TrimStart('/')).AbsoluteUri;
        }

        // RFC 9207: OpenIddict returns 'iss' in every authorization response.
        context.Metadata["authorization_response_iss_parameter_supported"] = true;

        // An https URL as client_id names the client's own metadata document (ClientMetadataDocumentHandler fetches it).
        context.Metadata["client_id_metadata_document_supported"] = true;
        return ValueTask.CompletedTask;
    }
}
