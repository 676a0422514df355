namespace Gatehouse.Core.Policy;

/// <summary>What a policy rule does with a call, and the outcome of a decision.</summary>
/// <remarks>
/// The numeric order is the order of restriction (allow &lt; deny &lt; hide): combining rules keeps the largest value,
/// which is how "the most restrictive action wins" is implemented.
/// </remarks>
public enum PolicyAction
{
    /// <summary>The call may go upstream (subject to conditions and quotas).</summary>
    Allow = 0,

    /// <summary>The call is refused with a message naming the rule.</summary>
    Deny = 1,

    /// <summary>The entry disappears from its list and a call is answered as if it did not exist.</summary>
    Hide = 2,
}

/// <summary>The kind of MCP entry a decision is about.</summary>
public enum PolicyTarget
{
    /// <summary><c>tools/call</c> by tool name; <c>tools/list</c> filtering.</summary>
    Tool = 0,

    /// <summary><c>resources/read</c> by URI; <c>resources/list</c> filtering.</summary>
    Resource = 1,

    /// <summary><c>prompts/get</c> by prompt name; <c>prompts/list</c> filtering.</summary>
    Prompt = 2,
}
