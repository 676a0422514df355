using Gatehouse.Core.Policy;
using static Gatehouse.Core.Tests.Policy.PolicyTestKit;

namespace Gatehouse.Core.Tests.Policy;

public sealed class ArgumentPathTests
{
    private static readonly PolicySet Nested = Set("""
        version: 1
        default: deny
        tools:
          order:
            require:
              - { arg: "items[0].sku", prefix: "SKU-" }
              - { arg: "matrix[1][0]", equals: 3 }
            deny_if:
              - { arg: shipping.address.country, in: [xx, yy] }
        """);

    [Fact]
    public void Nested_paths_and_array_indices_reach_the_value()
    {
        var decision = Tool(Nested, "order", """{"items": [{"sku": "SKU-1"}], "matrix": [[0], [3, 4]], "shipping": {"address": {"country": "de"}}}""");

        Assert.True(decision.IsAllowed, decision.Message);
    }

    [Fact]
    public void A_deny_if_on_a_nested_path_fires_on_the_nested_value()
    {
        var decision = Tool(Nested, "order", """{"items": [{"sku": "SKU-1"}], "matrix": [[0], [3]], "shipping": {"address": {"country": "xx"}}}""");

        Assert.Equal("/tools/order/deny_if/0", decision.Rule);
        Assert.Contains("'shipping.address.country'", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_past_the_end_of_an_array_is_a_missing_argument()
    {
        var decision = Tool(Nested, "order", """{"items": [], "matrix": [[0], [3]]}""");

        Assert.Equal("/tools/order/require/0", decision.Rule);
        Assert.EndsWith("argument 'items[0].sku' is required.", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_container_on_the_way_makes_a_deny_if_not_fire()
    {
        var decision = Tool(Nested, "order", """{"items": [{"sku": "SKU-1"}], "matrix": [[0], [3]], "shipping": null}""");

        Assert.True(decision.IsAllowed, decision.Message);
    }

    [Fact]
    public void A_container_of_the_wrong_kind_denies_and_names_the_container()
    {
        var notAnArray = Tool(Nested, "order", """{"items": {"0": {"sku": "SKU-1"}}, "matrix": [[0], [3]]}""");
        var notAnObject = Tool(Nested, "order", """{"items": [{"sku": "SKU-1"}], "matrix": [[0], [3]], "shipping": {"address": "Main St 1"}}""");

        Assert.Equal("Policy rule /tools/order/require/0 denied this call: argument 'items' must be an array (to read 'items[0].sku').", notAnArray.Message);
        Assert.Equal("Policy rule /tools/order/deny_if/0 denied this call: argument 'shipping.address' must be an object (to read 'shipping.address.country').", notAnObject.Message);
        Assert.DoesNotContain("Main St", notAnObject.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_that_are_not_an_object_deny_a_rule_that_reads_them()
    {
        var decision = Tool(Nested, "order", "[1, 2]");

        Assert.Equal("Policy rule /tools/order/require/0 denied this call: the arguments must be an object.", decision.Message);
    }

    [Fact]
    public void Property_names_in_the_call_may_use_json_escapes()
    {
        var decision = Tool(Nested, "order", """{"\u0069tems": [{"sku": "SKU-1"}], "matrix": [[0], [3]]}""");

        Assert.True(decision.IsAllowed, decision.Message);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData("a[x]")]
    [InlineData("a[0")]
    [InlineData("a[]")]
    [InlineData("[0]")]
    [InlineData("a b")]
    [InlineData("a]")]
    [InlineData("a[0]b")]
    public void A_malformed_path_is_refused_at_load_time(string path)
    {
        var error = SingleError($"version: 1\ndefault: deny\ntools:\n  t:\n    require:\n      - {{ arg: \"{path}\", present: true }}\n");

        Assert.Equal("/tools/t/require/0/arg", error.Path);
        Assert.Equal(6, error.Line);
        Assert.Contains("customer.id", error.Message, StringComparison.Ordinal);
    }
}
