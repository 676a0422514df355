using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gatehouse.Core.Policy;

namespace Gatehouse.PolicyBenchmarks;

/// <summary>
/// One decision against a 200-rule policy: 100 exact names, 40 prefix patterns of 8 different lengths, 20 suffix
/// patterns, 10 globs, 20 rules with argument conditions, and 10 deny rules, plus an all_tools quota.
/// Target: at most 1 µs per decision and 0 bytes allocated on the allow path.
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private PolicySet set = PolicySet.Empty;
    private JsonDocument? passing;
    private JsonDocument? failing;

    public static string PolicyText()
    {
        var yaml = new StringBuilder("version: 1\ndefault: deny\non_deny: \"Ask #platform\"\ntools:\n");
        for (var i = 0; i < 100; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  tool_{i:D3}: allow\n");
        }

        for (var i = 0; i < 40; i++)
        {
            // Eight literal lengths, so the prefix index has eight groups to probe.
            yaml.Append(CultureInfo.InvariantCulture, $"  \"{new string('s', 1 + (i % 8))}vc{i:D2}_*\": {(i % 5 == 0 ? "deny" : "allow")}\n");
        }

        for (var i = 0; i < 20; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  \"*_admin{i:D2}\": hide\n");
        }

        for (var i = 0; i < 10; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  \"repo_?_{i}_*\": allow\n");
        }

        for (var i = 0; i < 20; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $$"""
                  charge_{{i:D2}}:
                    required: [customer.id]
                    require:
                      - { arg: currency, in: [usd, eur, gbp] }
                      - { arg: description, max_length: 200 }
                      - { arg: "items[0].sku", prefix: "SKU-" }
                    deny_if:
                      - { arg: amount, gt: 1000 }
                      - { arg: customer.email, matches: "@competitor\\.com$" }
                    limits: [{ calls: 10, per: 1m }]

                """);
        }

        for (var i = 0; i < 10; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  drop_{i}: deny\n");
        }

        yaml.Append("all_tools:\n  limits: [{ calls: 1000, per: 1h }]\n");
        return yaml.ToString();
    }

    [GlobalSetup]
    public void Setup()
    {
        var parsed = PolicyDocumentParser.Parse(PolicyText());
        if (!parsed.Succeeded)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, parsed.Errors));
        }

        if (parsed.Policy!.RuleCount != 200)
        {
            throw new InvalidOperationException($"Expected 200 rules, got {parsed.Policy.RuleCount}.");
        }

        set = PolicySet.Compose(parsed.Policy, null);
        passing = JsonDocument.Parse("""{"customer": {"id": "c_1", "email": "a@example.com"}, "currency": "eur", "amount": 250, "description": "Two widgets", "items": [{"sku": "SKU-42", "qty": 2}]}""");
        failing = JsonDocument.Parse("""{"customer": {"id": "c_1", "email": "a@example.com"}, "currency": "eur", "amount": 2500, "description": "Two widgets", "items": [{"sku": "SKU-42", "qty": 2}]}""");

        // Measure what we mean to measure.
        Expect(AllowExactName(), PolicyAction.Allow, "/tools/tool_057");
        Expect(AllowByPrefix(), PolicyAction.Allow, "/tools/ssssvc11_*");
        Expect(AllowWithArgumentConditions(), PolicyAction.Allow, "/tools/charge_07");
        Expect(DenyByArgumentCondition(), PolicyAction.Deny, "/tools/charge_07/deny_if/0");
        Expect(DefaultDeny(), PolicyAction.Deny, "(default deny)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        passing?.Dispose();
        failing?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "allow: exact name, no conditions")]
    public PolicyDecision AllowExactName() => PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "tool_057", null);

    [Benchmark(Description = "allow: prefix pattern, no conditions")]
    public PolicyDecision AllowByPrefix() => PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "ssssvc11_list_things", null);

    [Benchmark(Description = "allow: 6 argument conditions")]
    public PolicyDecision AllowWithArgumentConditions() => PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "charge_07", passing!.RootElement);

    [Benchmark(Description = "deny: argument condition (on_deny text)")]
    public PolicyDecision DenyByArgumentCondition() => PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "charge_07", failing!.RootElement);

    [Benchmark(Description = "deny: no rule matches (default)")]
    public PolicyDecision DefaultDeny() => PolicyEvaluator.Evaluate(set, PolicyTarget.Tool, "unknown_tool", null);

    [Benchmark(Description = "list filter: IsHidden")]
    public bool IsHidden() => PolicyEvaluator.IsHidden(set, PolicyTarget.Tool, "repo_admin07");

    private static void Expect(PolicyDecision decision, PolicyAction outcome, string rule)
    {
        if (decision.Outcome != outcome || decision.Rule != rule)
        {
            throw new InvalidOperationException($"Expected {outcome} by {rule}, got {decision.Outcome} by {decision.Rule}: {decision.Message}");
        }
    }
}
