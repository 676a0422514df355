using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class QuotaTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_counter_reserves_up_to_the_limit_then_says_when_the_window_resets()
    {
        var counter = new InMemoryQuotaCounter();

        for (var i = 0; i < 3; i++)
        {
            Assert.True(counter.TryReserve("k", 3, TimeSpan.FromMinutes(1), Noon.AddSeconds(i * 10), out var resets, out var reservation));
            Assert.Equal(Noon.AddMinutes(1), resets);
            Assert.False(reservation.IsEmpty);
        }

        Assert.False(counter.TryReserve("k", 3, TimeSpan.FromMinutes(1), Noon.AddSeconds(59), out var resetsAt, out var refused));
        Assert.Equal(Noon.AddMinutes(1), resetsAt);
        Assert.True(refused.IsEmpty);
    }

    [Fact]
    public void Windows_are_aligned_to_the_epoch_and_roll_over()
    {
        var counter = new InMemoryQuotaCounter();
        var midWindow = Noon.AddMinutes(30);

        Assert.True(counter.TryReserve("k", 1, TimeSpan.FromHours(1), midWindow, out var resets, out _));
        Assert.Equal(Noon.AddHours(1), resets);
        Assert.False(counter.TryReserve("k", 1, TimeSpan.FromHours(1), Noon.AddMinutes(59), out _, out _));
        Assert.True(counter.TryReserve("k", 1, TimeSpan.FromHours(1), Noon.AddHours(1), out var next, out _));
        Assert.Equal(Noon.AddHours(2), next);
    }

    [Fact]
    public void A_clock_that_steps_back_keeps_counting_in_the_current_window()
    {
        var counter = new InMemoryQuotaCounter();

        Assert.True(counter.TryReserve("k", 1, TimeSpan.FromMinutes(1), Noon.AddMinutes(1), out _, out _));
        Assert.False(counter.TryReserve("k", 1, TimeSpan.FromMinutes(1), Noon.AddSeconds(30), out var resets, out _));
        Assert.Equal(Noon.AddMinutes(2), resets);
    }

    [Fact]
    public void Releasing_gives_a_reservation_back_within_its_window_only()
    {
        var counter = new InMemoryQuotaCounter();
        var window = TimeSpan.FromMinutes(1);

        Assert.True(counter.TryReserve("k", 1, window, Noon, out _, out var first));
        counter.Release(first);
        Assert.True(counter.TryReserve("k", 1, window, Noon.AddSeconds(1), out _, out var second));
        Assert.False(counter.TryReserve("k", 1, window, Noon.AddSeconds(2), out _, out _));

        Assert.True(counter.TryReserve("k", 1, window, Noon.AddMinutes(1), out _, out var nextWindow));
        counter.Release(second);
        Assert.False(counter.TryReserve("k", 1, window, Noon.AddMinutes(1).AddSeconds(1), out _, out _));
        counter.Release(nextWindow);
        counter.Release(nextWindow);
        counter.Release(default);
        Assert.True(counter.TryReserve("k", 1, window, Noon.AddMinutes(1).AddSeconds(2), out _, out _));
        Assert.False(counter.TryReserve("k", 1, window, Noon.AddMinutes(1).AddSeconds(3), out _, out _));
    }

    [Fact]
    public void Keys_are_counted_separately()
    {
        var counter = new InMemoryQuotaCounter();

        Assert.True(counter.TryReserve("alice|server:/all_tools/limits/0", 1, TimeSpan.FromMinutes(1), Noon, out _, out _));
        Assert.True(counter.TryReserve("bob|server:/all_tools/limits/0", 1, TimeSpan.FromMinutes(1), Noon, out _, out _));
        Assert.False(counter.TryReserve("alice|server:/all_tools/limits/0", 1, TimeSpan.FromMinutes(1), Noon, out _, out _));
    }

    [Fact]
    public void Concurrent_reservations_never_exceed_the_limit()
    {
        var counter = new InMemoryQuotaCounter();
        var granted = 0;

        Parallel.For(0, 10_000, call =>
        {
            if (counter.TryReserve("k", 1234, TimeSpan.FromHours(1), Noon, out _, out _))
            {
                Interlocked.Increment(ref granted);
            }
        });

        Assert.Equal(1234, granted);
    }

    [Fact]
    public void Ended_windows_are_swept_so_memory_does_not_grow_without_bound()
    {
        var counter = new InMemoryQuotaCounter();
        for (var i = 0; i < 5000; i++)
        {
            counter.TryReserve($"k{i}", 1, TimeSpan.FromSeconds(1), Noon, out _, out _);
        }

        for (var i = 0; i < 5000; i++)
        {
            counter.TryReserve("live", 100_000, TimeSpan.FromHours(1), Noon.AddMinutes(10), out _, out _);
        }

        Assert.True(counter.Count < 100, $"{counter.Count} keys are still held");
    }

    [Fact]
    public void A_decision_names_the_quotas_of_every_matching_rule_and_all_tools_with_layered_keys()
    {
        var server = Compile("""
            version: 1
            default: allow
            tools:
              create_charge:
                limits: [{ calls: 10, per: 1m }]
              "create_*":
                limits: [{ calls: 50, per: 1h }, { calls: 200, per: 1d }]
            all_tools:
              limits: [{ calls: 100, per: 1h }]
            """);
        var grant = Compile("version: 2\ndefault: allow\nall_tools:\n  limits: [{ calls: 5, per: 30s }]\n");

        var decision = Tool(PolicySet.Compose(server, grant), "create_charge");

        Assert.Equal(
            ["server:/tools/create_charge/limits/0", "server:/tools/create_*/limits/0", "server:/tools/create_*/limits/1", "server:/all_tools/limits/0", "grant:/all_tools/limits/0"],
            decision.Quotas.Select(q => q.Key));
        var first = decision.Quotas[0];
        Assert.Equal(("/tools/create_charge/limits/0", 10, TimeSpan.FromMinutes(1), "1m"), (first.Rule, first.Limit, first.Window, first.WindowText));
        Assert.Equal(["grant:/all_tools/limits/0"], Tool(PolicySet.Compose(null, grant), "x").Quotas.Select(q => q.Key));
    }

    [Fact]
    public void Denied_and_hidden_calls_and_resources_carry_no_quotas()
    {
        var set = Set("""
            version: 1
            default: deny
            tools:
              charge: { limits: [{ calls: 1, per: 1m }], deny_if: [{ arg: amount, gt: 5 }] }
              hidden: hide
            all_tools:
              limits: [{ calls: 100, per: 1h }]
            resources:
              "*": { action: allow, limits: [{ calls: 3, per: 1m }] }
            """);

        Assert.Empty(Tool(set, "charge", """{"amount": 10}""").Quotas);
        Assert.Empty(Tool(set, "hidden").Quotas);
        Assert.Empty(Tool(set, "unknown").Quotas);
        Assert.Equal(2, Tool(set, "charge", """{"amount": 1}""").Quotas.Count);
        Assert.Equal(["server:/resources/*/limits/0"], PolicyEvaluator.Evaluate(set, PolicyTarget.Resource, "file:///a", null).Quotas.Select(q => q.Key));
    }

    [Fact]
    public void Reserving_all_quotas_is_all_or_nothing_and_the_message_says_when_it_resets()
    {
        var set = Set("""
            version: 1
            default: allow
            tools:
              charge: { limits: [{ calls: 5, per: 1m }] }
            all_tools:
              limits: [{ calls: 2, per: 1h }]
            """);
        var quotas = Tool(set, "charge").Quotas;
        var counter = new InMemoryQuotaCounter();
        var reservations = new List<QuotaReservation>();

        Assert.True(PolicyQuotas.TryReserveAll(counter, quotas, "alice", Noon, reservations, out _, out _));
        Assert.True(PolicyQuotas.TryReserveAll(counter, quotas, "alice", Noon, reservations, out _, out _));
        Assert.Equal(4, reservations.Count);
        Assert.False(PolicyQuotas.TryReserveAll(counter, quotas, "alice", Noon.AddMinutes(5), reservations, out var exhausted, out var resetsAt));
        Assert.Equal(4, reservations.Count);
        Assert.Equal("/all_tools/limits/0", exhausted!.Rule);
        Assert.Equal(Noon.AddHours(1), resetsAt);
        Assert.Equal(
            "Quota of 2 calls per 1h (policy rule /all_tools/limits/0) is used up; it resets at 2026-03-01T13:00:00Z. Try again after that, or ask an administrator to raise the limit.",
            PolicyQuotas.ExhaustedMessage(exhausted, resetsAt));

        // The refused call's reservation of the per-tool quota was rolled back: all 5 calls of that window remain.
        for (var i = 0; i < 5; i++)
        {
            Assert.True(counter.TryReserve("alice|server:/tools/charge/limits/0", 5, TimeSpan.FromMinutes(1), Noon.AddMinutes(5), out _, out _));
        }

        Assert.False(counter.TryReserve("alice|server:/tools/charge/limits/0", 5, TimeSpan.FromMinutes(1), Noon.AddMinutes(5), out _, out _));
        Assert.True(PolicyQuotas.TryReserveAll(counter, quotas, "bob", Noon, reservations, out _, out _));

        // Releasing alice's calls gives back the hourly quota; the per-minute ones belong to a window long gone.
        foreach (var reservation in reservations)
        {
            counter.Release(reservation);
        }

        Assert.True(PolicyQuotas.TryReserveAll(counter, quotas, "alice", Noon.AddMinutes(6), [], out _, out _));
    }
}
