using System.Threading.RateLimiting;

namespace Gatehouse.Identity.Registration;

/// <summary>
/// Limits how many new Client ID Metadata Document clients one IP address can make Gatehouse create (and fetch for)
/// per window: the same budget as dynamic registration, since each creates a stored application.
/// </summary>
public sealed class ClientCreationLimiter(AuthorizationServerOptions options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.RegistrationsPerWindow, Window = options.RegistrationWindow, QueueLimit = 0,
        }));

    /// <summary>True when <paramref name="address"/> may create one more client now (the permit is used).</summary>
    public bool TryAcquire(string? address)
    {
        using var lease = _limiter.AttemptAcquire(address ?? "(unknown)");
        return lease.IsAcquired;
    }

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
