using System.Text.Json.Nodes;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Vault;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Host.Tests.Cli;

public sealed class KeysCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-keys-").FullName;

    [Fact]
    public async Task KeysRotate_ReSealsTheStoredHeader_RecordsTheAudit_AndTheServerStillWorks()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "gh", "--url", "https://mcp.example.com/mcp", "--header", "Authorization: Bearer upstream-7")).Code);
        var stampBefore = File.GetLastWriteTimeUtc(Path.Combine(_dir, GatehouseStorage.ChangeStampFileName));

        var rotated = await RunAsync("--json", "keys", "rotate");

        Assert.Equal(0, rotated.Code);
        var report = JsonNode.Parse(rotated.Output)!;
        var newKey = report["newDataKeyId"]!.GetValue<string>();
        Assert.Single(report["oldDataKeyIds"]!.AsArray());
        Assert.False(report["masterKeyReplaced"]!.GetValue<bool>());
        Assert.False(report["restartGateways"]!.GetValue<bool>());
        Assert.Equal(1, report["values"]!.GetValue<int>());
        var headers = report["columns"]!.AsArray().Single(c => c!["column"]!.GetValue<string>() == "HeadersJson")!;
        Assert.Equal(1, headers["values"]!.GetValue<int>());

        var storage = new GatehouseStorage(_dir);
        await using (var db = storage.CreateContext())
        {
            var stored = SnapshotLoader.ReadHeaders((await db.Servers.AsNoTracking().SingleAsync()).HeadersJson).Single();
            Assert.StartsWith($"gv1.{newKey}.", stored.ProtectedValue, StringComparison.Ordinal);
            var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);
            Assert.Equal("Bearer upstream-7", vault.Unprotect(stored.ProtectedValue));
        }

        Assert.True(File.GetLastWriteTimeUtc(Path.Combine(_dir, GatehouseStorage.ChangeStampFileName)) > stampBefore);
        var audit = await RunAsync("--json", "audit");
        Assert.Contains(KeyRotation.AuditAction, audit.Output, StringComparison.Ordinal);
        // apply compares by opening the stored value: the re-sealed header still reads as the same plaintext.
        var file = Path.Combine(_dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(file, "servers:\n  - name: gh\n    url: https://mcp.example.com/mcp\n    transport: auto\n    headers:\n      Authorization: \"Bearer upstream-7\"\n");
        var apply = await RunAsync("apply", "-f", file);
        Assert.Contains("Nothing to change.", apply.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRotateWithNewMasterKey_ReplacesTheKeyFile_AndSaysToRestartGateways()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "gh", "--url", "https://mcp.example.com/mcp", "--header", "X-Key: k")).Code);
        var oldMaster = MasterKey.Load(_dir, null).Id;

        var rotated = await RunAsync("keys", "rotate", "--new-master-key");

        Assert.Equal(0, rotated.Code);
        var newMaster = MasterKey.Load(_dir, null).Id;
        Assert.NotEqual(oldMaster, newMaster);
        Assert.Contains($"New master key {newMaster} written to", rotated.Output, StringComparison.Ordinal);
        Assert.Contains("Restart every gateway", rotated.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("server", "list")).Code);
    }

    [Fact]
    public async Task KeysRotate_WithAValueNoKeyOpens_RefusesNamingTheRow()
    {
        Assert.Equal(0, (await RunAsync("server", "add", "gh", "--url", "https://mcp.example.com/mcp", "--header", "X-Key: k")).Code);
        await using (var db = new GatehouseStorage(_dir).CreateContext())
        {
            var server = await db.Servers.SingleAsync();
            server.HeadersJson = """[{"name":"X-Key","value":"gv1.dk-000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]""";
            await db.SaveChangesAsync();
        }

        var refused = await RunAsync("keys", "rotate");

        Assert.Equal(1, refused.Code);
        Assert.StartsWith("error: Key rotation stopped: the value in servers.HeadersJson, row ", refused.Error, StringComparison.Ordinal);
        Assert.Contains("(server 'gh')", refused.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed.", refused.Error, StringComparison.Ordinal);
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
