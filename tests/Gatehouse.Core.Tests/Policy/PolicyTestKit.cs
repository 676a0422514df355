using System.Text.Json;
using Gatehouse.Core.Policy;

namespace Gatehouse.Core.Tests.Policy;

/// <summary>Shared helpers: compile a policy or fail with its errors, build argument objects, decide a call.</summary>
internal static class PolicyTestKit
{
    public static CompiledPolicy Compile(string yaml)
    {
        var result = PolicyDocumentParser.Parse(yaml);
        Assert.True(result.Succeeded, "Expected the policy to parse, got:\n" + string.Join("\n", result.Errors));
        Assert.Empty(result.Errors);
        return result.Policy!;
    }

    public static IReadOnlyList<PolicyError> ParseErrors(string yaml)
    {
        var result = PolicyDocumentParser.Parse(yaml);
        Assert.False(result.Succeeded, "Expected the policy to be refused.");
        Assert.Null(result.Policy);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    public static PolicyError SingleError(string yaml)
    {
        var errors = ParseErrors(yaml);
        return Assert.Single(errors);
    }

    public static JsonElement Args(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static PolicySet Set(string yaml) => PolicySet.Compose(Compile(yaml), null);

    public static PolicyDecision Tool(PolicySet set, string name, string? argumentsJson = null) =>
        PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, name, argumentsJson is null ? null : Args(argumentsJson));

    public static PolicyDecision Tool(string yaml, string name, string? argumentsJson = null) => Tool(Set(yaml), name, argumentsJson);
}
