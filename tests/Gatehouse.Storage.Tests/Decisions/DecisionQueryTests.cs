using Gatehouse.Admin.Administration;
using Gatehouse.Storage.Decisions;
using Gatehouse.Storage.Vault;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Storage.Tests.Decisions;

public sealed class DecisionQueryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-query-").FullName;

    [Fact]
    public async Task Filters_ByServerPrincipalDecisionToolAndTime()
    {
        var storage = await SeedAsync();
        await using var db = storage.CreateContext();

        async Task<List<string>> Ids(DecisionQuery q) => (await q.ExecuteAsync(db)).Items.Select(i => i.RequestId).ToList();

        Assert.Equal(["req-5", "req-3", "req-1"], await Ids(new DecisionQuery { Server = "gh" }));
        Assert.Equal(["req-4", "req-3"], await Ids(new DecisionQuery { Principal = "bob" }));
        Assert.Equal(["req-4", "req-3"], await Ids(new DecisionQuery { Principal = "grant:bob-id" }));
        Assert.Equal(["req-3"], await Ids(new DecisionQuery { Principal = "bob", Server = "gh" }));
        Assert.Equal(["req-4", "req-2"], await Ids(new DecisionQuery { Decision = "deny" }));
        Assert.Equal(["req-5"], await Ids(new DecisionQuery { Target = "delete_repo" }));
        // From is inclusive, To exclusive.
        Assert.Equal(["req-3", "req-2"], await Ids(new DecisionQuery { From = T0.AddMinutes(2), To = T0.AddMinutes(4) }));
        Assert.Empty(await Ids(new DecisionQuery { Server = "nope" }));
    }

    [Fact]
    public async Task Pages_NewestFirst_WithACursorThatNeverSkipsOrRepeats()
    {
        var storage = await SeedAsync();
        await using var db = storage.CreateContext();

        var first = await new DecisionQuery { Limit = 2 }.ExecuteAsync(db);
        Assert.Equal(["req-5", "req-4"], first.Items.Select(i => i.RequestId));
        Assert.NotNull(first.Next);

        Assert.True(DecisionQuery.TryParseCursor(first.Next, out var cursor));
        var second = await new DecisionQuery { Limit = 2, Before = cursor }.ExecuteAsync(db);
        Assert.Equal(["req-3", "req-2"], second.Items.Select(i => i.RequestId));

        DecisionQuery.TryParseCursor(second.Next, out cursor);
        var last = await new DecisionQuery { Limit = 2, Before = cursor }.ExecuteAsync(db);
        Assert.Equal(["req-1"], last.Items.Select(i => i.RequestId));
        Assert.Null(last.Next);

        // Exactly a page left: no cursor, since no further page exists.
        Assert.Null((await new DecisionQuery { Limit = 5 }.ExecuteAsync(db)).Next);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new DecisionQuery { Limit = 1001 }.ExecuteAsync(db));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new DecisionQuery { Limit = 0 }.ExecuteAsync(db));
        Assert.False(DecisionQuery.TryParseCursor("abc", out _));
        Assert.False(DecisionQuery.TryParseCursor("-3", out _));
    }

    [Fact]
    public async Task AuditQuery_ListsAdminChangesNewestFirst_WithPaging()
    {
        var storage = new GatehouseStorage(_dir);
        await storage.InitializeAsync();
        await using var db = storage.CreateContext();
        var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);
        var admin = new GatewayAdministration(db, vault, TimeProvider.System, static () => { });
        Assert.True((await admin.AddServerAsync(new ServerSpec("gh", "https://mcp.example.com/mcp", null, []), "alice")).Succeeded);
        Assert.True((await admin.CreateGrantAsync("laptop", ["gh"], null, "bob")).Succeeded);
        Assert.True((await admin.RevokeGrantAsync("laptop", "carol")).Succeeded);

        var first = await new AuditQuery { Limit = 2 }.ExecuteAsync(db);
        Assert.Equal([("carol", "grant.revoke", "laptop"), ("bob", "grant.create", "laptop")], first.Items.Select(a => (a.Actor, a.Action, a.Target)));
        DecisionQuery.TryParseCursor(first.Next, out var cursor);
        var rest = await new AuditQuery { Limit = 2, Before = cursor }.ExecuteAsync(db);
        Assert.Equal(("alice", "server.add", "gh"), Assert.Single(rest.Items) is var a ? (a.Actor, a.Action, a.Target) : default);
        Assert.Null(rest.Next);
    }

    /// <summary>Five records a minute apart: 1 gh/alice allow, 2 gl/alice deny, 3 gh/bob allow, 4 gl/bob deny, 5 gh/carol error on delete_repo.</summary>
    private async Task<GatehouseStorage> SeedAsync()
    {
        var storage = new GatehouseStorage(_dir);
        await storage.InitializeAsync();
        // The records carry fixed past times; a long retention keeps the purge at start from removing them.
        var writer = new DecisionLogWriter(storage, new DecisionLogOptions { Retention = TimeSpan.FromDays(36500) }, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        writer.Record(DecisionTestData.Make(T0.AddMinutes(1), "gh", "alice", "allow", n: 1));
        writer.Record(DecisionTestData.Make(T0.AddMinutes(2), "gl", "alice", "deny", n: 2));
        writer.Record(DecisionTestData.Make(T0.AddMinutes(3), "gh", "bob", "allow", n: 3));
        writer.Record(DecisionTestData.Make(T0.AddMinutes(4), "gl", "bob", "deny", n: 4));
        writer.Record(DecisionTestData.Make(T0.AddMinutes(5), "gh", "carol", "error", "delete_repo", n: 5));
        writer.Start();
        await writer.StopAsync();
        return storage;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
