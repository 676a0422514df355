using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Host.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Host.Tests.Policy;

public sealed class PolicyCliTests : IDisposable
{
    private const string Payments = """
        version: 1
        default: deny
        tools:
          "list_*": allow
          create_charge:
            require: [{ arg: currency, in: [usd, eur] }]
            deny_if: [{ arg: amount, gt: 1000 }]
            limits: [{ calls: 10, per: 1m }]
          delete_customer: hide
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-policy-").FullName;

    [Fact]
    public async Task Explain_PrintsTheDecisionAndTheRuleThatMadeIt()
    {
        await ArrangeAsync();

        var denied = await RunAsync("policy", "explain", "--server", "pay", "--tool", "create_charge", "--args", """{"amount": 5000, "currency": "usd"}""");
        Assert.Equal(0, denied.Code);
        Assert.Contains("decision: deny", denied.Output, StringComparison.Ordinal);
        Assert.Contains("rule:     /tools/create_charge/deny_if/0", denied.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("5000", denied.Output, StringComparison.Ordinal);

        var allowed = await RunAsync("--json", "policy", "explain", "--server", "pay", "--grant", "ci", "--tool", "create_charge", "--args", """{"amount": 5, "currency": "eur"}""");
        var json = JsonNode.Parse(allowed.Output)!;
        Assert.Equal("allow", json["decision"]!.GetValue<string>());
        Assert.Equal(10, json["quotas"]![0]!["limit"]!.GetValue<int>());

        var hidden = await RunAsync("policy", "explain", "--server", "pay", "--tool", "delete_customer");
        Assert.Contains("decision: hide", hidden.Output, StringComparison.Ordinal);

        var byDefault = await RunAsync("policy", "explain", "--server", "pay", "--tool", "anything_else");
        Assert.Contains("(default deny)", byDefault.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyTest_RunsTheUsersCases_AndFailsTheBuildOnAMismatch()
    {
        await ArrangeAsync();
        await File.WriteAllTextAsync(Path.Combine(_dir, "payments.yaml"), Payments);
        var cases = Path.Combine(_dir, "cases.yaml");
        await File.WriteAllTextAsync(cases, """
            cases:
              - name: small charge in euros
                policy: payments.yaml
                tool: create_charge
                args: { amount: 5, currency: eur }
                expect: allow
              - name: large charge is denied by the amount rule
                policy: payments.yaml
                tool: create_charge
                args: { amount: 5000, currency: usd }
                expect: deny
                rule: /tools/create_charge/deny_if/0
              - name: the stored server policy hides deletes
                server: pay
                grant: ci
                tool: delete_customer
                expect: hide
            """);
        var passing = await RunAsync("policy", "test", cases);
        Assert.True(passing.Code == 0, passing.Output + passing.Error);
        Assert.Contains("3 passed, 0 failed", passing.Output, StringComparison.Ordinal);

        await File.AppendAllTextAsync(cases, """

              - name: a wrong expectation
                policy: payments.yaml
                tool: list_charges
                expect: deny
            """);
        var failing = await RunAsync("policy", "test", cases);
        Assert.Equal(1, failing.Code);
        Assert.Contains("FAIL  a wrong expectation: expected deny, got allow", failing.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangedPolicy_MustRaiseItsVersion_AndListShowsWhereItIsAttached()
    {
        await ArrangeAsync();
        var file = Path.Combine(_dir, "p.yaml");
        await File.WriteAllTextAsync(file, Payments.Replace("delete_customer: hide", "delete_customer: deny", StringComparison.Ordinal));
        var sameVersion = await RunAsync("policy", "apply", "-f", file, "--name", "payments");
        Assert.NotEqual(0, sameVersion.Code);
        Assert.Contains("Raise 'version'", sameVersion.Error, StringComparison.Ordinal);

        var list = await RunAsync("--json", "policy", "list");
        var payments = JsonNode.Parse(list.Output)!.AsArray().Single()!;
        Assert.Equal(1, payments["version"]!.GetValue<int>());
        Assert.Equal(["server:pay"], payments["attachedTo"]!.AsArray().Select(a => a!.GetValue<string>()));
    }

    [Fact]
    public async Task AdminApi_AppliesAndAttachesPolicies_AndRefusesInvalidOnesWithLines()
    {
        await using var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = _dir, Urls = "http://127.0.0.1:0" });
        var adminToken = await Gatehouse.Admin.Administration.AdminCredentials.EnsureAsync(new Gatehouse.Storage.GatehouseStorage(_dir), TimeProvider.System);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/admin/api/servers", new { name = "pay", url = "https://mcp.example.com/mcp" })).StatusCode);

        using (var applied = await http.PutAsync("/admin/api/policies/payments", new StringContent(Payments, Encoding.UTF8, "application/yaml")))
        {
            Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        }

        using (var invalid = await http.PutAsync("/admin/api/policies/payments", new StringContent("version: 2\ndefault: maybe\n", Encoding.UTF8, "application/yaml")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.Contains("line 2", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var attached = await http.PostAsJsonAsync("/admin/api/policies/payments/attach", new { server = "pay" }))
        {
            Assert.Equal(HttpStatusCode.OK, attached.StatusCode);
        }

        var listed = JsonNode.Parse(await http.GetStringAsync("/admin/api/policies"))!.AsArray().Single()!;
        Assert.Equal("server:pay", listed["attachedTo"]![0]!.GetValue<string>());
        await app.StopAsync();
    }

    private async Task ArrangeAsync()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "pay", "--url", "https://mcp.example.com/mcp")).Code);
        Assert.Equal(0, (await RunAsync("grant", "create", "--server", "pay", "--label", "ci")).Code);
        var file = Path.Combine(_dir, "payments.policy.yaml");
        await File.WriteAllTextAsync(file, Payments);
        var applied = await RunAsync("policy", "apply", "-f", file, "--name", "payments", "--server", "pay");
        Assert.True(applied.Code == 0, applied.Error);
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.Run(["--data", _dir, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
