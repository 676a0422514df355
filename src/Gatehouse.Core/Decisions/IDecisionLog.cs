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

    /// <summary>
    /// False while the log cannot take more records and is configured to fail closed: the request path then refuses new
    /// requests (GH1800) rather than run them unrecorded. A cheap read, so it can be asked before every forward.
    /// </summary>
    bool Accepting => true;
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
