using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Identity.Server;

/// <summary>
/// Answers an authorization request from a client id Gatehouse does not know with <c>invalid_client</c> (not OpenIddict's
/// generic <c>invalid_request</c>), the error MCP clients take as the sign to register again.
/// </summary>
/// <remarks>The client's redirect URI cannot be trusted yet, so the error is shown to the person, never redirected.</remarks>
public sealed class UnknownClientHandler(IOpenIddictApplicationManager applications) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    /// <summary>Registration of the handler, right after OpenIddict checked that a client id is present and a metadata document client was loaded.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseScopedHandler<UnknownClientHandler>()
        .SetOrder(OpenIddictServerHandlers.Authentication.ValidateClientIdParameter.Descriptor.Order + 2)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!string.IsNullOrEmpty(context.ClientId) && await applications.FindByClientIdAsync(context.ClientId, context.CancellationToken) is null)
        {
            context.Reject(OpenIddictConstants.Errors.InvalidClient, "This client is not registered with Gatehouse (it may have been removed): register it again.");
        }
    }
}
