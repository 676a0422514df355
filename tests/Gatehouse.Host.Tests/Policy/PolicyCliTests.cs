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
    public async Task ExplainResource_DecidesOnTheNormalizedUri_AsTheGatewayDoes()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "docs", "--url", "https://mcp.example.com/mcp")).Code);
        await ApplyAsync("docs", """
            version: 1
            default: allow
            resources:
              "file:///secrets/*": deny
            """, "--server", "docs");

        var spelled = await RunAsync("policy", "explain", "--server", "docs", "--resource", "FILE:///public/../secrets/key");

        Assert.Contains("decision: deny", spelled.Output, StringComparison.Ordinal);
        Assert.Contains("rule:     /resources/file:~1~1~1secrets~1*", spelled.Output, StringComparison.Ordinal);
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
    public async Task UserAndGroupPolicies_AreAttachedListedExplainedTestedAndDetached()
    {
        await ArrangeAsync();
        Assert.Equal(0, (await RunAsync("user", "add", "alice")).Code);
        Assert.Equal(0, (await RunAsync("user", "add", "bob")).Code);
        var bobId = await SetGroupsAsync("bob", "[]");
        await SetGroupsAsync("alice", """["staff","contractors"]""");
        Assert.Equal(0, (await RunAsync("grant", "create", "--server", "pay", "--label", "alice-laptop", "--owner", "alice")).Code);
        await ApplyAsync("no-listing", "version: 1\ndefault: deny\ntools:\n  list_invoices: deny\n", "--group", "contractors");
        await ApplyAsync("open", "version: 2\ndefault: allow\n");
        var attached = await RunAsync("policy", "attach", "open", "--user", "bob");
        Assert.True(attached.Code == 0, attached.Error);
        Assert.Contains($"Attached policy 'open' to user bob ({bobId:D})", attached.Output, StringComparison.Ordinal);

        var list = JsonNode.Parse((await RunAsync("--json", "policy", "list")).Output)!.AsArray();
        Assert.Equal(["group:contractors"], AttachedTo(list, "no-listing"));
        Assert.Equal(["user:bob"], AttachedTo(list, "open"));

        var alice = await RunAsync("policy", "explain", "--server", "pay", "--user", "alice", "--tool", "list_invoices");
        Assert.Contains("decision: deny", alice.Output, StringComparison.Ordinal);
        Assert.Contains("rule:     /tools/list_invoices", alice.Output, StringComparison.Ordinal);
        Assert.Contains("policies: server:1,group=contractors:1", alice.Output, StringComparison.Ordinal);
        var aliceGrant = await RunAsync("policy", "explain", "--server", "pay", "--grant", "alice-laptop", "--tool", "list_invoices");
        Assert.Contains("decision: deny", aliceGrant.Output, StringComparison.Ordinal);
        var bob = await RunAsync("policy", "explain", "--server", "pay", "--user", "bob", "--tool", "anything_else");
        Assert.Contains("decision: allow", bob.Output, StringComparison.Ordinal);
        Assert.Contains($"policies: server:1,user={bobId:D}:2", bob.Output, StringComparison.Ordinal);

        var cases = Path.Combine(_dir, "user-cases.yaml");
        await File.WriteAllTextAsync(cases, """
            cases:
              - name: contractors may not list invoices
                server: pay
                user: alice
                tool: list_invoices
                expect: deny
              - name: bob may
                server: pay
                user: bob
                tool: list_invoices
                expect: allow
            """);
        var tested = await RunAsync("policy", "test", cases);
        Assert.True(tested.Code == 0, tested.Output + tested.Error);
        Assert.Contains("2 passed, 0 failed", tested.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("policy", "detach", "--group", "contractors")).Code);
        Assert.Equal(0, (await RunAsync("policy", "detach", "--user", bobId.ToString())).Code);
        alice = await RunAsync("policy", "explain", "--server", "pay", "--user", "alice", "--tool", "list_invoices");
        Assert.Contains("decision: allow", alice.Output, StringComparison.Ordinal);
        list = JsonNode.Parse((await RunAsync("--json", "policy", "list")).Output)!.AsArray();
        Assert.Empty(AttachedTo(list, "no-listing"));
        Assert.Empty(AttachedTo(list, "open"));

        await using var db = new Gatehouse.Storage.GatehouseStorage(_dir).CreateContext();
        Assert.Equal(
            ["policy.attach group contractors", $"policy.attach user bob ({bobId:D})", "policy.detach group contractors", $"policy.detach user bob ({bobId:D})"],
            db.AuditEvents.Where(e => e.Action.StartsWith("policy.")).Where(e => e.Target.StartsWith("user") || e.Target.StartsWith("group")).OrderBy(e => e.Id)
                .Select(e => e.Action + " " + e.Target).ToList());
    }

    [Fact]
    public async Task UserAndGroupAttachments_RefuseUnknownUsersPoliciesAndAmbiguousTargets_Clearly()
    {
        await ArrangeAsync();
        Assert.Equal(0, (await RunAsync("user", "add", "alice")).Code);

        var unknownUser = await RunAsync("policy", "attach", "payments", "--user", "nobody");
        Assert.Equal(3, unknownUser.Code);
        Assert.Contains("No user 'nobody'", unknownUser.Error, StringComparison.Ordinal);

        var unknownPolicy = await RunAsync("policy", "attach", "nothing-here", "--group", "eng");
        Assert.Equal(3, unknownPolicy.Code);
        Assert.Contains("No policy 'nothing-here'", unknownPolicy.Error, StringComparison.Ordinal);

        var two = await RunAsync("policy", "attach", "payments", "--user", "alice", "--group", "eng");
        Assert.Equal(1, two.Code);
        Assert.Contains("exactly one target", two.Error, StringComparison.Ordinal);

        var explainUnknown = await RunAsync("policy", "explain", "--server", "pay", "--user", "nobody", "--tool", "x");
        Assert.Equal(3, explainUnknown.Code);
        Assert.Contains("No user 'nobody'", explainUnknown.Error, StringComparison.Ordinal);

        var organisationGrant = await RunAsync("policy", "explain", "--server", "pay", "--grant", "ci", "--user", "alice", "--tool", "x");
        Assert.Equal(3, organisationGrant.Code);
        Assert.Contains("belongs to the organisation", organisationGrant.Error, StringComparison.Ordinal);
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

        using (var attached = await http.PostAsJsonAsync("/admin/api/policies/payments/attach", new { group = "eng" }))
        {
            Assert.Equal(HttpStatusCode.OK, attached.StatusCode);
        }

        using (var unknownUser = await http.PostAsJsonAsync("/admin/api/policies/payments/attach", new { user = "nobody" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknownUser.StatusCode);
        }

        var listed = JsonNode.Parse(await http.GetStringAsync("/admin/api/policies"))!.AsArray().Single()!;
        Assert.Equal(["server:pay", "group:eng"], listed["attachedTo"]!.AsArray().Select(a => a!.GetValue<string>()));

        using (var detached = await http.PostAsJsonAsync("/admin/api/policies/detach", new { group = "eng" }))
        {
            Assert.Equal(HttpStatusCode.OK, detached.StatusCode);
        }

        listed = JsonNode.Parse(await http.GetStringAsync("/admin/api/policies"))!.AsArray().Single()!;
        Assert.Equal(["server:pay"], listed["attachedTo"]!.AsArray().Select(a => a!.GetValue<string>()));
        await app.StopAsync();
    }

    private async Task ArrangeAsync()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "pay", "--url", "https://mcp.example.com/mcp")).Code);
        Assert.Equal(0, (await RunAsync("grant", "create", "--server", "pay", "--label", "ci")).Code);
        await ApplyAsync("payments", Payments, "--server", "pay");
    }

    private async Task ApplyAsync(string name, string document, params string[] attach)
    {
        var file = Path.Combine(_dir, name + ".policy.yaml");
        await File.WriteAllTextAsync(file, document);
        var applied = await RunAsync(["policy", "apply", "-f", file, "--name", name, .. attach]);
        Assert.True(applied.Code == 0, applied.Error);
    }

    // Groups arrive from the identity provider at sign-in; the tests write them as that sign-in would.
    private async Task<Guid> SetGroupsAsync(string userName, string groupsJson)
    {
        await using var db = new Gatehouse.Storage.GatehouseStorage(_dir).CreateContext();
        var user = db.Users.Single(u => u.DisplayName == userName);
        user.GroupsJson = groupsJson;
        await db.SaveChangesAsync();
        return user.Id;
    }

    private static IEnumerable<string> AttachedTo(JsonArray policies, string name) =>
        policies.Single(p => p!["name"]!.GetValue<string>() == name)!["attachedTo"]!.AsArray().Select(a => a!.GetValue<string>());

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
