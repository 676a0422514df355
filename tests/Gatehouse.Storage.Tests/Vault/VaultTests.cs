using System.Security.Cryptography;
using System.Text;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Grants;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Vault;

namespace Gatehouse.Storage.Tests.Vault;

public sealed class VaultTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-storage-").FullName;

    [Fact]
    public async Task Protect_SealsWithTheActiveDataKeyId_AndUnprotectRestores()
    {
        var storage = await OpenAsync();
        await using var db = storage.CreateContext();
        var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);

        var sealedValue = vault.Protect("s3cret-value");
        Assert.StartsWith("gv1.dk-", sealedValue, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", sealedValue, StringComparison.Ordinal);
        Assert.Equal("s3cret-value", vault.Unprotect(sealedValue));
        Assert.Throws<CryptographicException>(() => vault.Unprotect(sealedValue[..^4] + "AAAA"));
    }

    [Fact]
    public async Task MasterKeyFile_IsCreatedOwnerOnly_AndReusedOnTheNextStart()
    {
        var first = MasterKey.Load(_dir, null);
        var mode = File.GetUnixFileMode(Path.Combine(_dir, MasterKey.FileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.Equal(first.Id, MasterKey.Load(_dir, null).Id);

        var storage = await OpenAsync();
        await using var db = storage.CreateContext();
        var sealedValue = (await EnvelopeVault.OpenAsync(db, first, TimeProvider.System)).Protect("v");
        var reopened = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);
        Assert.Equal("v", reopened.Unprotect(sealedValue));
    }

    [Fact]
    public async Task WrongMasterKey_IsRefusedWithAMessageThatSaysWhatToRestore()
    {
        var storage = await OpenAsync();
        await using var db = storage.CreateContext();
        await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);

        var wrong = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => EnvelopeVault.OpenAsync(db, wrong, TimeProvider.System));
        Assert.Contains("master.key", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoSecretOrTokenAppearsInTheDatabaseFile()
    {
        var storage = await OpenAsync();
        const string headerValue = "Bearer upstream-secret-4f1c2a";
        string grantToken;
        await using (var db = storage.CreateContext())
        {
            var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);
            var admin = new GatewayAdministration(db, vault, TimeProvider.System, storage.TouchChangeStamp);
            Assert.True((await admin.AddServerAsync(new ServerSpec("gh", "https://mcp.example.com/mcp", null, [new("Authorization", headerValue)]), "test")).Succeeded);
            grantToken = (await admin.CreateGrantAsync("laptop", ["gh"], null, "test")).Value!.Token;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var bytes = Directory.GetFiles(_dir, "gatehouse.db*").SelectMany(File.ReadAllBytes).ToArray();
        var text = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("upstream-secret-4f1c2a", text, StringComparison.Ordinal);
        Assert.DoesNotContain(grantToken, text, StringComparison.Ordinal);
        Assert.Contains(GrantToken.Hash(grantToken), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotSource_SeesAChangeFromAnotherWriter_OnTheNextRead()
    {
        var storage = await OpenAsync();
        var snapshots = new StoredSnapshotSource(storage);
        Assert.Empty(snapshots.Current.ServersByName);

        await using (var db = storage.CreateContext())
        {
            var vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_dir, null), TimeProvider.System);
            await new GatewayAdministration(db, vault, TimeProvider.System, storage.TouchChangeStamp)
                .AddServerAsync(new ServerSpec("gh", "https://mcp.example.com/mcp", null, []), "other-process");
        }

        Assert.True(snapshots.Current.ServersByName.ContainsKey("gh"));
        Assert.True(snapshots.Current.Revision > 0);
    }

    [Fact]
    public void ChangeStamp_MovesOnEveryTouch_EvenWithinOneClockTick()
    {
        var storage = new GatehouseStorage(_dir);
        var seen = new HashSet<DateTime>();
        for (var i = 0; i < 50; i++)
        {
            storage.TouchChangeStamp();
            Assert.True(seen.Add(File.GetLastWriteTimeUtc(storage.ChangeStampPath)), $"touch {i} left the stamp time unchanged");
        }
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
