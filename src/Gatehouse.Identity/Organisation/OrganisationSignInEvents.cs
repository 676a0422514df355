using Gatehouse.Identity.Interaction;
using Gatehouse.Identity.Users;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gatehouse.Identity.Organisation;

/// <summary>
/// What happens when the identity provider sends the person back: the user row is found or created and the Gatehouse
/// login cookie (not the provider's identity) is signed in; failures and disabled users get a page saying so.
/// </summary>
public sealed partial class OrganisationSignInEvents(
    OrganisationProvider provider, GatehouseDbContext db, ConfigurationChanges changes, TimeProvider time, ILogger<OrganisationSignInEvents> logger)
    : OpenIdConnectEvents
{
    /// <inheritdoc />
    public override async Task TicketReceived(TicketReceivedContext context)
    {
        var settings = provider.Current;
        var identity = settings is null ? null : OrganisationIdentity.From(settings.Issuer, context.Principal!.Claims, settings.GroupsClaim);
        if (identity is null)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest,
                "The identity provider did not say who signed in (no usable subject). Ask an admin to check the provider's configuration.");
            return;
        }

        var user = await new OrganisationUsers(db, time, changes.Notify).SignInAsync(identity, context.HttpContext.RequestAborted);
        if (user.DisabledAt is { } disabledAt)
        {
            LogDisabledRefused(logger, user.Id);
            await RefuseAsync(context, StatusCodes.Status403Forbidden, LoginScheme.DisabledMessage(disabledAt));
            return;
        }

        // The login cookie carries the Gatehouse user only: nothing of the provider's ticket (its items, its claims).
        context.Principal = LoginScheme.CreatePrincipal(user);
        context.Properties = new AuthenticationProperties();
        context.ReturnUri = LoginScheme.SafeReturnUrl(context.ReturnUri);
    }

    /// <inheritdoc />
    public override async Task RemoteFailure(RemoteFailureContext context)
    {
        // The message names the protocol error (invalid_client, a bad state, a failed signature), never a secret.
        var reason = context.Failure switch
        {
            OpenIdConnectProtocolException protocol => protocol.Message,
            { } failure => failure.Message,
            null => "unknown failure",
        };
        LogSignInFailed(logger, reason);
        // Anyone may reach this page: a guard refusal is shown without the address the provider's host resolved to.
        reason = Gatehouse.UpstreamAuth.Net.OutboundUrlRefusedException.FindPublicMessage(context.Failure) ?? reason;
        await RefuseAsync(context, StatusCodes.Status400BadRequest,
            $"Signing in with {provider.Current?.DisplayName ?? "the identity provider"} failed: {reason} Start again from the login page; if it keeps failing, ask an admin to check 'gatehouse login-provider show'.");
    }

    private static async Task RefuseAsync<TOptions>(HandleRequestContext<TOptions> context, int status, string message)
        where TOptions : RemoteAuthenticationOptions
    {
        context.HandleResponse();
        await InteractionPages.Refused(context.Response, status, message).ExecuteAsync(context.HttpContext);
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Warning, Message = "Sign-in through the organisation's identity provider failed: {Reason}")]
    private static partial void LogSignInFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Refused sign-in of disabled user {UserId}")]
    private static partial void LogDisabledRefused(ILogger logger, Guid userId);
}
