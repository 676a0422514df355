using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Gatehouse.Identity.Registration;

/// <summary>
/// The rate limit of dynamic client registration, per client IP address (ASP.NET Core's rate limiter): each
/// registration is a stored application, so anonymous callers must not be able to create them without bound.
/// </summary>
public static class RegistrationRateLimit
{
    /// <summary>The rate limiter policy name on <c>/oauth2/register</c>.</summary>
    public const string PolicyName = "gatehouse-registration";

    /// <summary>Adds the policy: <see cref="AuthorizationServerOptions.RegistrationsPerWindow"/> per <see cref="AuthorizationServerOptions.RegistrationWindow"/> per IP.</summary>
    public static void Configure(RateLimiterOptions limiter, AuthorizationServerOptions options)
    {
        limiter.AddPolicy(PolicyName, context => RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "(unknown)",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RegistrationsPerWindow, Window = options.RegistrationWindow, QueueLimit = 0 }));
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.OnRejected = async (rejected, cancellationToken) =>
        {
            var response = rejected.HttpContext.Response;
            var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : options.RegistrationWindow;
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            response.Headers.CacheControl = "no-store";
            await response.WriteAsJsonAsync(
                new Dictionary<string, string>
                {
                    ["error"] = "temporarily_unavailable",
                    ["error_description"] = $"Too many client registrations from this address (at most {options.RegistrationsPerWindow} per {options.RegistrationWindow.TotalMinutes:0} minutes). Reuse the client you registered, or retry after the Retry-After interval.",
                },
                cancellationToken);
        };
    }
}
