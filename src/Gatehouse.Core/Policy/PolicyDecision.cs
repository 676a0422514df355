namespace Gatehouse.Core.Policy;

/// <summary>
/// The answer of <see cref="PolicyEvaluator.Evaluate"/> for one call. A value type, so the allow path allocates
/// nothing: every string it carries on that path was computed when the policy was loaded.
/// </summary>
/// <param name="Outcome">Allow, deny, or hide (answer as if the entry did not exist).</param>
/// <param name="Rule">
/// What decided, for the decision log and the error's data: a JSON Pointer into the deciding policy
/// (<c>/tools/create_charge/deny_if/0</c>, <c>/tools/issues_*</c>) or one of <c>(hidden)</c>, <c>(default deny)</c>,
/// <c>(default allow)</c>, <c>(no policy)</c>.
/// </param>
/// <param name="Message">
/// For a denial: the rule's <c>on_deny</c>, else its policy's, else an engine message naming the rule and the
/// argument path (never an argument value). For a hidden entry: the usual "unknown" wording. Null when allowed.
/// </param>
/// <param name="PolicyVersion">The revisions in force, e.g. <c>server:3,grant:1</c> (see <see cref="PolicySet.Version"/>).</param>
/// <param name="Quotas">Quotas to charge before forwarding an allowed call; empty otherwise.</param>
/// <param name="ArgumentsMayBeLogged">True when a matching rule opted in with <c>log_arguments: true</c> and none opted out.</param>
public readonly record struct PolicyDecision(
    PolicyAction Outcome,
    string Rule,
    string? Message,
    string PolicyVersion,
    IReadOnlyList<QuotaRequirement> Quotas,
    bool ArgumentsMayBeLogged)
{
    /// <summary>Rule reported when a hidden entry is called.</summary>
    public const string HiddenRule = "(hidden)";

    /// <summary>Rule reported when no rule matched and the default is deny.</summary>
    public const string DefaultDenyRule = "(default deny)";

    /// <summary>Rule reported when no rule matched and the default is allow.</summary>
    public const string DefaultAllowRule = "(default allow)";

    /// <summary>Rule reported when no policy is attached at any layer.</summary>
    public const string NoPolicyRule = "(no policy)";

    /// <summary>True when the call may proceed (after charging <see cref="Quotas"/>).</summary>
    public bool IsAllowed => Outcome == PolicyAction.Allow;
}
