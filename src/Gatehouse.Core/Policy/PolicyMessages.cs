namespace Gatehouse.Core.Policy;

/// <summary>
/// The engine's wording for denials, in one place. Messages name the rule and the argument path, and may quote
/// numbers written in the policy; they never contain an argument value.
/// </summary>
internal static class PolicyMessages
{
    public static string Hidden(PolicyTarget target, string name) => target switch
    {
        PolicyTarget.Tool => $"Unknown tool: {name}",
        PolicyTarget.Prompt => $"Unknown prompt: {name}",
        _ => $"Resource not found: {name}",
    };

    public static string DeniedByRule(PolicyTarget target, string name, string pointer) =>
        $"Policy rule {pointer} denies {Subject(target, name)}. Ask an administrator if you need it.";

    public static string DefaultDeny(PolicyTarget target, string name) =>
        $"No policy rule allows {Subject(target, name)} and the policy denies by default {PolicyDecision.DefaultDenyRule}. Ask an administrator to allow it.";

    public static string ConditionFailed(ArgumentCondition condition, ConditionResult result, bool inDenyIf) =>
        $"Policy rule {condition.Pointer} denied this call: {Detail(condition, result, inDenyIf)}.";

    /// <summary>A resource URI is not echoed (it may carry identifiers in its query); tool and prompt names are.</summary>
    private static string Subject(PolicyTarget target, string name) => target switch
    {
        PolicyTarget.Tool => $"tool '{name}'",
        PolicyTarget.Prompt => $"prompt '{name}'",
        _ => "reading this resource",
    };

    private static string Detail(ArgumentCondition condition, ConditionResult result, bool inDenyIf)
    {
        var path = condition.Path;
        switch (result.Outcome)
        {
            case ConditionOutcome.Missing:
                return $"argument '{path.Text}' is required";
            case ConditionOutcome.TimedOut:
                return $"argument '{path.Text}' could not be checked against the rule's pattern in time; send a shorter or simpler value";
            case ConditionOutcome.Mismatch when result.FailedStep >= 0:
                var container = path.ContainerText(result.FailedStep);
                return container.Length == 0
                    ? "the arguments must be an object"
                    : $"argument '{container}' must be {path.ContainerKind(result.FailedStep)} (to read '{path.Text}')";
            case ConditionOutcome.Mismatch:
                return $"argument '{path.Text}' must be {result.Expected}";
        }

        // The condition was evaluated: it failed in require, or held in deny_if.
        var number = ArgumentCondition.FormatNumber(condition.Operand.Number);
        var holdsInDenyIf = inDenyIf;
        return $"argument '{path.Text}' " + (condition.Operator, holdsInDenyIf) switch
        {
            (ConditionOperator.Equals, false) or (ConditionOperator.NotEquals, true) => "must equal the allowed value",
            (ConditionOperator.Equals, true) or (ConditionOperator.NotEquals, false) => "has a value that is not allowed",
            (ConditionOperator.In, false) or (ConditionOperator.NotIn, true) => "must be one of the allowed values",
            (ConditionOperator.In, true) or (ConditionOperator.NotIn, false) => "has a value that is not allowed",
            (ConditionOperator.Lt, false) or (ConditionOperator.Gte, true) => $"must be less than {number}",
            (ConditionOperator.Lte, false) or (ConditionOperator.Gt, true) => $"must be at most {number}",
            (ConditionOperator.Gt, false) or (ConditionOperator.Lte, true) => $"must be greater than {number}",
            (ConditionOperator.Gte, false) or (ConditionOperator.Lt, true) => $"must be at least {number}",
            (ConditionOperator.Matches, false) => "must match the pattern the policy requires",
            (ConditionOperator.Matches, true) => "matches a pattern the policy does not allow",
            (ConditionOperator.Prefix, false) => "must start with the prefix the policy requires",
            (ConditionOperator.Prefix, true) => "starts with a prefix the policy does not allow",
            (ConditionOperator.Suffix, false) => "must end with the suffix the policy requires",
            (ConditionOperator.Suffix, true) => "ends with a suffix the policy does not allow",
            (ConditionOperator.Contains, false) => "must contain the value the policy requires",
            (ConditionOperator.Contains, true) => "contains a value the policy does not allow",
            (ConditionOperator.MaxLength, false) => $"must be at most {number} long",
            (ConditionOperator.MaxLength, true) => $"must be longer than {number}",
            (ConditionOperator.Present, _) when condition.Operand.Boolean != inDenyIf => "is required",
            _ => "must not be given",
        };
    }
}
