namespace Gatehouse.Core.Decisions;

/// <summary>Where the request path hands its decisions; storing them happens elsewhere, later.</summary>
/// <remarks>
/// The request path never waits on the decision log: <see cref="Record"/> must return at once, never block on I/O
/// and never throw, so a slow or broken database cannot slow or fail a request.
/// </remarks>
public interface IDecisionLog
{
    /// <summary>Queues one record. Returns at once; never blocks, never throws.</summary>
    void Record(DecisionRecord record);
}

/// <summary>A decision log that keeps nothing (for tests and hosts that do not store decisions).</summary>
public sealed class NullDecisionLog : IDecisionLog
{
    /// <summary>The shared instance.</summary>
    public static NullDecisionLog Instance { get; } = new();

    /// <inheritdoc />
    public void Record(DecisionRecord record)
    {
    }
}
