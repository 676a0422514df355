using Gatehouse.Core.Decisions;

namespace Gatehouse.Storage.Tests.Decisions;

internal static class DecisionTestData
{
    public static DecisionRecord Make(
        DateTimeOffset at, string server = "gh", string label = "alice", string decision = "allow", string? target = "search",
        string method = "tools/call", int n = 0) =>
        new(at, $"req-{n}", $"grant:{label}-id", label, server, method, target, decision, decision == "deny" ? "/rules/0" : "(no policy)", null,
            ["query", "limit"], null, decision == "allow" ? 200 : null, 12.5, decision == "error" ? "GH1501" : null, null);
}
