using System.Globalization;

namespace Gatehouse.Core.Policy;

/// <summary>
/// A quota an allowed call must be charged against: at most <see cref="Limit"/> calls per <see cref="Window"/>.
/// Instances are precomputed when a <see cref="PolicySet"/> is composed.
/// </summary>
/// <param name="Key">Stable counter key, <c>layer:pointer</c> (e.g. <c>server:/tools/create_charge/limits/0</c>); prefix it with the principal's id.</param>
/// <param name="Rule">JSON Pointer of the limit in its policy, for messages and logs.</param>
/// <param name="Limit">Calls allowed per window.</param>
/// <param name="Window">Length of the fixed window.</param>
/// <param name="WindowText">The window as written in the policy (e.g. <c>1m</c>), for messages.</param>
public sealed record QuotaRequirement(string Key, string Rule, int Limit, TimeSpan Window, string WindowText);

/// <summary>
/// A successful reservation, kept so it can be released when the call never reached the upstream. The default value
/// is "nothing reserved" and releasing it does nothing.
/// </summary>
/// <param name="Key">The counter key.</param>
/// <param name="WindowStart">Start of the fixed window the call was counted in.</param>
/// <param name="Window">Length of that window.</param>
public readonly record struct QuotaReservation(string Key, DateTimeOffset WindowStart, TimeSpan Window)
{
    /// <summary>True for the default value, which holds no reservation.</summary>
    public bool IsEmpty => Key is null;
}

/// <summary>
/// Counts calls per key in fixed windows. All state lives in the implementation (memory today, a shared store such as
/// PostgreSQL later), never in the evaluator. Implementations must be thread-safe.
/// </summary>
public interface IQuotaCounter
{
    /// <summary>
    /// Counts one call against <paramref name="key"/> if fewer than <paramref name="limit"/> were counted in the window
    /// containing <paramref name="now"/>. Either way <paramref name="resetsAt"/> is when that window ends.
    /// </summary>
    bool TryReserve(string key, int limit, TimeSpan window, DateTimeOffset now, out DateTimeOffset resetsAt, out QuotaReservation reservation);

    /// <summary>Gives back a reservation whose call never reached the upstream; a no-op once its window has passed.</summary>
    void Release(QuotaReservation reservation);
}

/// <summary>Charges the requirements of a decision all together, and words the answer when a quota is used up.</summary>
public static class PolicyQuotas
{
    /// <summary>
    /// Reserves every requirement in order, each under <c>scope + "|" + requirement.Key</c> (scope: the principal's
    /// id). If one is exhausted, releases those already taken and returns false with the exhausted requirement and
    /// when its window resets. Successful reservations are added to <paramref name="reservations"/>.
    /// </summary>
    public static bool TryReserveAll(
        IQuotaCounter counter,
        IReadOnlyList<QuotaRequirement> requirements,
        string scope,
        DateTimeOffset now,
        List<QuotaReservation> reservations,
        out QuotaRequirement? exhausted,
        out DateTimeOffset resetsAt)
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(reservations);
        exhausted = null;
        resetsAt = default;
        var start = reservations.Count;
        for (var i = 0; i < requirements.Count; i++)
        {
            var requirement = requirements[i];
            if (counter.TryReserve(scope + "|" + requirement.Key, requirement.Limit, requirement.Window, now, out var resets, out var reservation))
            {
                reservations.Add(reservation);
                continue;
            }

            // All or nothing: a call refused for one quota must not use up the others.
            for (var j = reservations.Count - 1; j >= start; j--)
            {
                counter.Release(reservations[j]);
            }

            reservations.RemoveRange(start, reservations.Count - start);

            exhausted = requirement;
            resetsAt = resets;
            return false;
        }

        return true;
    }

    /// <summary>The message for a call refused because <paramref name="requirement"/> is used up.</summary>
    public static string ExhaustedMessage(QuotaRequirement requirement, DateTimeOffset resetsAt)
    {
        ArgumentNullException.ThrowIfNull(requirement);
        return string.Create(CultureInfo.InvariantCulture,
            $"Quota of {requirement.Limit} calls per {requirement.WindowText} (policy rule {requirement.Rule}) is used up; it resets at {resetsAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}. Try again after that, or ask an administrator to raise the limit.");
    }
}
