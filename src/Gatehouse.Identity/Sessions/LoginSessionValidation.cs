using Gatehouse.Identity.Interaction;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Sessions;

/// <summary>Ends a login session the moment its user is disabled or deleted, on whichever page presents the cookie.</summary>
/// <remarks>
/// The cookie is self-contained, so nothing about it changes when the user is offboarded; checking the user's row each
/// time it is read (login, authorize, consent and connect pages only, never the proxy's request path) is what makes
/// offboarding end sessions at once rather than when the cookie expires.
/// </remarks>
public static class LoginSessionValidation
{
    /// <summary>Rejects the cookie (and clears it) unless its user exists and is enabled.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var subject = context.Principal?.FindFirst(Claims.Subject)?.Value;
        var db = context.HttpContext.RequestServices.GetRequiredService<GatehouseDbContext>();
        var active = Guid.TryParse(subject, out var id)
            && await db.Users.AsNoTracking().AnyAsync(u => u.Id == id && u.DisabledAt == null, context.HttpContext.RequestAborted);
        if (!active)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(LoginScheme.Name);
        }
    }
}
