using Gatehouse.Core.Decisions;
using Gatehouse.Storage.Decisions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Storage.Tests.Decisions;

public sealed class DecisionLogWriterTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    // The records carry fixed past times; a long retention keeps the purge at start (on the real clock) from removing them.
    private static readonly DecisionLogOptions LongRetention = new() { Retention = TimeSpan.FromDays(36500) };
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-decisions-").FullName;

    [Fact]
    public async Task Stop_DrainsEverythingRecorded_InBatches()
    {
        var storage = await OpenAsync();
        var writer = new DecisionLogWriter(storage, LongRetention, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        writer.Start();
        for (var i = 0; i < 2000; i++)
        {
            writer.Record(DecisionTestData.Make(Now, n: i));
        }

        await writer.StopAsync();

        await using var db = storage.CreateContext();
        Assert.Equal(2000, await db.Decisions.CountAsync());
        Assert.Equal(2000, await db.Decisions.Select(d => d.RequestId).Distinct().CountAsync());
        Assert.Equal(2000, writer.Written);
        Assert.Equal(0, writer.Pending);
        Assert.Equal(0, writer.FailedBatches);
        Assert.Equal(0, writer.Dropped);
    }

    [Fact]
    public async Task Flush_CutsTheBatchWindowShort_AndStoresWhatWasRecorded()
    {
        var storage = await OpenAsync();
        // A fake clock never ends the batch window on its own, so only the flush can get these records written.
        var time = new FakeTimeProvider(Now);
        await using var writer = new DecisionLogWriter(storage, new DecisionLogOptions { BatchWindow = TimeSpan.FromHours(1) }, time, NullLogger<DecisionLogWriter>.Instance);
        writer.Start();
        writer.Record(DecisionTestData.Make(Now, n: 1));
        writer.Record(DecisionTestData.Make(Now, n: 2));

        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using var db = storage.CreateContext();
        Assert.Equal(2, await db.Decisions.CountAsync());
        Assert.Equal(0, writer.Pending);
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)); // nothing pending: completes at once
    }

    [Fact]
    public async Task Record_NeverThrows_AfterStopItCountsTheRecordAsDropped()
    {
        var storage = await OpenAsync();
        var writer = new DecisionLogWriter(storage, LongRetention, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        writer.Start();
        await writer.StopAsync();

        writer.Record(DecisionTestData.Make(Now));
        writer.Record(null!);

        Assert.Equal(2, writer.Dropped);
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task StoredRecord_KeepsEveryField_AndCutsClientControlledText()
    {
        var storage = await OpenAsync();
        var writer = new DecisionLogWriter(storage, LongRetention, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        writer.Start();
        var record = new DecisionRecord(Now, "req-9", "grant:abc", "ci-bot", "gh", "tools/call", new string('t', 10_000), DecisionKinds.Deny,
            "/servers/gh/tools/0", "7", ["path", "mode"], "{\"path\":\"/tmp\"}", null, 3.25, null, "denied by rule");
        writer.Record(record);
        await writer.StopAsync();

        await using var db = storage.CreateContext();
        var entry = Assert.Single((await new DecisionQuery().ExecuteAsync(db)).Items);
        Assert.Equal(Now, entry.At);
        Assert.Equal(("req-9", "grant:abc", "ci-bot", "gh", "tools/call"), (entry.RequestId, entry.PrincipalId, entry.PrincipalLabel, entry.Server, entry.Method));
        Assert.Equal(2048, entry.Target!.Length);
        Assert.Equal(("deny", "/servers/gh/tools/0", "7"), (entry.Decision, entry.Rule, entry.PolicyVersion));
        Assert.Equal(["path", "mode"], entry.ArgumentKeys);
        Assert.Equal("{\"path\":\"/tmp\"}", entry.ArgumentValuesJson);
        Assert.Null(entry.UpstreamStatus);
        Assert.Equal(3.25, entry.LatencyMs);
        Assert.Equal("denied by rule", entry.Message);
    }

    [Fact]
    public async Task OversizedArgumentValues_AreOmittedWithAValidJsonNote_NeverCut()
    {
        var storage = await OpenAsync();
        var writer = new DecisionLogWriter(storage, LongRetention, TimeProvider.System, NullLogger<DecisionLogWriter>.Instance);
        writer.Start();
        var huge = "{\"blob\":\"" + new string('x', 20_000) + "\"}";
        writer.Record(new DecisionRecord(Now, "req-1", "grant:abc", "ci-bot", "gh", "tools/call", "upload", DecisionKinds.Allow,
            "/tools/upload", "1", ["blob"], huge, 200, 1, null, null));
        await writer.StopAsync();

        await using var db = storage.CreateContext();
        var entry = Assert.Single((await new DecisionQuery().ExecuteAsync(db)).Items);
        using var note = System.Text.Json.JsonDocument.Parse(entry.ArgumentValuesJson!);
        Assert.Contains("exceed", note.RootElement.GetProperty("omitted").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_RemovesOnlyRecordsOlderThanTheRetention()
    {
        var storage = await OpenAsync();
        var time = new FakeTimeProvider(Now);
        var writer = new DecisionLogWriter(storage, new DecisionLogOptions { Retention = TimeSpan.FromDays(30), BatchWindow = TimeSpan.Zero, PurgeInterval = TimeSpan.FromDays(30) }, time, NullLogger<DecisionLogWriter>.Instance);
        writer.Record(DecisionTestData.Make(Now - TimeSpan.FromDays(40), n: 1));
        writer.Record(DecisionTestData.Make(Now - TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1), n: 2));
        writer.Record(DecisionTestData.Make(Now - TimeSpan.FromDays(29), n: 3));
        writer.Record(DecisionTestData.Make(Now - TimeSpan.FromMinutes(5), n: 4));
        writer.Start();
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The purge at start may already have run; an explicit one makes the result independent of that timing.
        await writer.PurgeExpiredAsync();
        await using (var db = storage.CreateContext())
        {
            Assert.Equal(["req-3", "req-4"], await db.Decisions.OrderBy(d => d.Id).Select(d => d.RequestId).ToListAsync());
        }

        // The periodic purge is a month away, so this explicit purge is the only one that sees the clock move.
        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await writer.PurgeExpiredAsync());
        await writer.StopAsync();
    }

    private async Task<GatehouseStorage> OpenAsync()
    {
        var storage = new GatehouseStorage(_dir);
        await storage.InitializeAsync();
        return storage;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
