using System.Security.Cryptography;
using Gatehouse.Core.Servers;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Gatehouse.Storage.Vault;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage.Tests.Vault;

public sealed class KeyRotationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-rotate-").FullName;
    private readonly GatehouseStorage _storage;
    private Guid _connectionId;

    public KeyRotationTests() => _storage = new GatehouseStorage(_dir);

    [Fact]
    public async Task Rotate_ResealsEverySealedColumnUnderTheNewDataKey_AndDeletesTheOldOne()
    {
        var vault = await SeedAsync(MasterKey.Load(_dir, null));
        var before = await ReadSealedAsync();
        var plain = before.ToDictionary(p => p.Key, p => vault.Unprotect(p.Value));
        var oldKeyId = KeyIdOf(before.Values.First());

        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions(), TimeProvider.System);

        Assert.Equal([oldKeyId], report.OldDataKeyIds);
        Assert.NotEqual(oldKeyId, report.NewDataKeyId);
        Assert.False(report.MasterKeyReplaced);
        Assert.Equal(
            [("servers", "HeadersJson", 1, 2), ("servers", "OAuthJson", 1, 2), ("oauth_clients", "ClientSecretSealed", 1, 1),
             ("oauth_clients", "RegistrationAccessTokenSealed", 1, 1), ("upstream_connections", "AccessTokenSealed", 1, 1),
             ("upstream_connections", "RefreshTokenSealed", 1, 1), ("oauth_pending_flows", "CodeVerifierSealed", 1, 1),
             ("oauth_pending_flows", "AuthorizationUrlSealed", 1, 1), ("authorization_server_keys", "KeySealed", 1, 1),
             ("gateway_settings", "Value", 1, 1), ("data_protection_keys", "XmlSealed", 1, 1)],
            report.Columns.Select(c => (c.Table, c.Column, c.Rows, c.Values)));

        var after = await ReadSealedAsync();
        Assert.Equal(before.Keys, after.Keys);
        var reopened = await OpenVaultAsync(MasterKey.Load(_dir, null));
        foreach (var (name, value) in after)
        {
            Assert.Equal(report.NewDataKeyId, KeyIdOf(value));
            Assert.Equal(plain[name], reopened.Unprotect(value));
        }

        await using var db = _storage.CreateContext();
        var keys = await db.DataKeys.AsNoTracking().ToListAsync();
        Assert.Equal(report.NewDataKeyId, Assert.Single(keys).Id);
        Assert.True(keys[0].Active);
        var audit = await db.AuditEvents.AsNoTracking().SingleAsync(a => a.Action == KeyRotation.AuditAction);
        Assert.Equal(report.NewDataKeyId, audit.Target);
        Assert.Equal(1, await db.ConfigRevisions.Select(r => r.Revision).FirstAsync());
    }

    [Fact]
    public async Task RotateWithNewMasterKey_WritesTheKeyFile_AndOnlyTheNewKeyOpensTheVault()
    {
        var oldMaster = MasterKey.Load(_dir, null);
        var vault = await SeedAsync(oldMaster);
        var plain = (await ReadSealedAsync()).ToDictionary(p => p.Key, p => vault.Unprotect(p.Value));

        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions { NewMasterKey = true }, TimeProvider.System);

        Assert.True(report.MasterKeyReplaced);
        Assert.Null(report.NewMasterKey);
        Assert.Equal(Path.Combine(_storage.DataDirectory, MasterKey.FileName), report.MasterKeyFile);
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.PendingFileName)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(report.MasterKeyFile!));
        var newMaster = MasterKey.Load(_dir, null);
        Assert.Equal(report.MasterKeyId, newMaster.Id);
        Assert.NotEqual(oldMaster.Id, newMaster.Id);

        var reopened = await OpenVaultAsync(newMaster);
        foreach (var (name, value) in await ReadSealedAsync())
        {
            Assert.Equal(plain[name], reopened.Unprotect(value));
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => OpenVaultAsync(oldMaster));
        Assert.Contains($"cannot open this database's vault, which was sealed with {newMaster.Id}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateWithNewMasterKey_FromTheEnvironment_HandsTheKeyOverBeforeTheCommit_AndWritesNoFile()
    {
        var oldText = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var vault = await SeedAsync(MasterKey.Load(_dir, oldText));
        var plain = (await ReadSealedAsync()).ToDictionary(p => p.Key, p => vault.Unprotect(p.Value));
        string? handedOver = null;
        long revisionWhenHandedOver = -1;

        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions
        {
            NewMasterKey = true,
            MasterKeyEnvironmentValue = oldText,
            BeforeCommit = async (r, ct) =>
            {
                handedOver = r.NewMasterKey;
                await using var other = _storage.CreateContext();
                revisionWhenHandedOver = await other.ConfigRevisions.Select(x => x.Revision).FirstAsync(ct);
            },
        }, TimeProvider.System);

        Assert.NotNull(handedOver);
        Assert.Equal(handedOver, report.NewMasterKey);
        Assert.Equal(0, revisionWhenHandedOver); // another connection did not see the rotation yet: not committed
        Assert.Null(report.MasterKeyFile);
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.FileName)));
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.PendingFileName)));

        var reopened = await OpenVaultAsync(MasterKey.Load(_dir, handedOver));
        foreach (var (name, value) in await ReadSealedAsync())
        {
            Assert.Equal(plain[name], reopened.Unprotect(value));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => OpenVaultAsync(MasterKey.Load(_dir, oldText)));
    }

    [Fact]
    public async Task Rotate_WhenAValueCannotBeOpened_StopsNamingItsRow_AndChangesNothing()
    {
        var master = MasterKey.Load(_dir, null);
        var masterText = await File.ReadAllTextAsync(Path.Combine(_dir, MasterKey.FileName));
        await SeedAsync(master);
        var foreign = await OpenVaultAsync(MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)), new GatehouseStorage(Path.Combine(_dir, "foreign")));
        await using (var db = _storage.CreateContext())
        {
            var connection = await db.UpstreamConnections.SingleAsync();
            connection.AccessTokenSealed = foreign.Protect("sealed elsewhere");
            await db.SaveChangesAsync();
        }

        var before = await ReadSealedAsync();
        var keysBefore = await DataKeyIdsAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            KeyRotation.RotateAsync(_storage, new KeyRotationOptions { NewMasterKey = true }, TimeProvider.System));

        Assert.Contains($"upstream_connections.AccessTokenSealed, row {_connectionId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await ReadSealedAsync());
        Assert.Equal(keysBefore, await DataKeyIdsAsync());
        Assert.Equal(masterText, await File.ReadAllTextAsync(Path.Combine(_dir, MasterKey.FileName)));
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.PendingFileName)));
        await using var check = _storage.CreateContext();
        Assert.False(await check.AuditEvents.AnyAsync(a => a.Action == KeyRotation.AuditAction));
    }

    [Fact]
    public async Task AVaultOpenedBeforeARotation_OpensWhatIsSealedAfterIt_AndSealsWithTheNewKey()
    {
        var running = await SeedAsync(MasterKey.Load(_dir, null));
        var heldInMemory = running.Protect("sealed before the rotation");

        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions(), TimeProvider.System);
        var cli = await OpenVaultAsync(MasterKey.Load(_dir, null));
        var sealedAfter = cli.Protect("sealed after the rotation");

        Assert.Equal(report.NewDataKeyId, KeyIdOf(sealedAfter));
        Assert.Equal("sealed after the rotation", running.Unprotect(sealedAfter));
        Assert.Equal(report.NewDataKeyId, KeyIdOf(running.Protect("x")));
        Assert.Equal("sealed before the rotation", running.Unprotect(heldInMemory));
        var error = Assert.Throws<CryptographicException>(() => cli.Unprotect(heldInMemory));
        Assert.Contains("no longer holds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVaultStillOnTheOldMasterKey_SaysToRestartWithTheNewOne()
    {
        var running = await SeedAsync(MasterKey.Load(_dir, null));
        await KeyRotation.RotateAsync(_storage, new KeyRotationOptions { NewMasterKey = true }, TimeProvider.System);
        var sealedAfter = (await OpenVaultAsync(MasterKey.Load(_dir, null))).Protect("v");

        // A type of its own, so the gateway can answer 503 "restart" (GH1951) instead of a generic failure.
        var error = Assert.Throws<Gatehouse.Core.Security.MasterKeyChangedException>(() => running.Unprotect(sealedAfter));
        Assert.Contains("restart it with the new master key", error.Message, StringComparison.Ordinal);
        Assert.Throws<Gatehouse.Core.Security.MasterKeyChangedException>(() => running.Protect("v"));
    }

    [Fact]
    public async Task Load_AfterACrashBetweenTheCommitAndTheRename_UsesAndInstallsThePendingKey()
    {
        var keyFile = Path.Combine(_dir, MasterKey.FileName);
        await SeedAsync(MasterKey.Load(_dir, null));
        var oldText = await File.ReadAllTextAsync(keyFile);
        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions { NewMasterKey = true }, TimeProvider.System);
        // Put the files back as they were just before the rename: new key pending, old key in master.key.
        File.Move(keyFile, Path.Combine(_dir, MasterKey.PendingFileName));
        await File.WriteAllTextAsync(keyFile, oldText);

        var loaded = MasterKey.Load(_dir, null);

        Assert.Equal(report.MasterKeyId, loaded.Id);
        Assert.False(File.Exists(Path.Combine(_dir, MasterKey.PendingFileName)));
        Assert.Equal(report.MasterKeyId, MasterKey.Load(_dir, null).Id);
        await OpenVaultAsync(loaded);
    }

    [Fact]
    public async Task Load_AfterACrashBeforeTheCommit_KeepsTheCurrentKey_AndRemovesThePendingOneNothingUses()
    {
        var current = MasterKey.Load(_dir, null);
        await SeedAsync(current);
        var pending = Path.Combine(_dir, MasterKey.PendingFileName);
        await File.WriteAllTextAsync(pending, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        Assert.Equal(current.Id, MasterKey.Load(_dir, null).Id);
        Assert.False(File.Exists(pending));

        var report = await KeyRotation.RotateAsync(_storage, new KeyRotationOptions { NewMasterKey = true }, TimeProvider.System);
        Assert.Equal(report.MasterKeyId, MasterKey.Load(_dir, null).Id);
        Assert.False(File.Exists(pending));
    }

    [Fact]
    public async Task Protect_WaitsForARotationInProgress_AndSealsWithTheKeyItLeavesActive()
    {
        var master = MasterKey.Load(_dir, null);
        var vault = await SeedAsync(master);
        string newKeyId;
        Task<string> sealing;
        await using (var rotation = _storage.CreateContext())
        {
            // A stand-in for a rotation's transaction: a new active key written but not yet committed.
            await using var transaction = await rotation.Database.BeginTransactionAsync();
            foreach (var key in await rotation.DataKeys.ToListAsync())
            {
                key.Active = false;
            }

            var record = EnvelopeVault.NewDataKey(master, TimeProvider.System, out _);
            newKeyId = record.Id;
            rotation.DataKeys.Add(record);
            await rotation.SaveChangesAsync();

            sealing = Task.Run(() => vault.Protect("refreshed token"));
            // Still waiting after a while: it did not read the key the transaction is replacing.
            await Assert.ThrowsAsync<TimeoutException>(() => sealing.WaitAsync(TimeSpan.FromMilliseconds(300)));
            await transaction.CommitAsync();
        }

        Assert.Equal(newKeyId, KeyIdOf(await sealing));
        Assert.Equal("refreshed token", vault.Unprotect(await sealing));
    }

    [Fact]
    public async Task SealedColumns_ListEveryPropertyNamedSealed()
    {
        await _storage.InitializeAsync();
        await using var db = _storage.CreateContext();
        var sealedProperties = db.Model.GetEntityTypes()
            .SelectMany(t => t.GetProperties().Select(p => (Table: t.GetTableName()!, Column: p.Name)))
            .Where(p => p.Column.EndsWith("Sealed", StringComparison.Ordinal));
        var listed = SealedColumns.All.Select(c => (c.Table, c.Column)).ToHashSet();

        Assert.All(sealedProperties, p => Assert.Contains(p, listed));
        Assert.Contains(("servers", nameof(ServerRecord.HeadersJson)), listed);
        Assert.Contains(("servers", nameof(ServerRecord.OAuthJson)), listed);
        Assert.All(listed, c => Assert.NotNull(db.Model.GetEntityTypes().Single(t => t.GetTableName() == c.Table).FindProperty(c.Column)));
    }

    /// <summary>Opens the vault and stores one sealed value (two in the JSON columns) in every sealed column.</summary>
    private async Task<EnvelopeVault> SeedAsync(MasterKey master)
    {
        await _storage.InitializeAsync();
        var vault = await OpenVaultAsync(master);
        var now = DateTimeOffset.UtcNow;
        var server = new ServerRecord
        {
            Id = Guid.NewGuid(),
            Name = "gh",
            Url = "https://mcp.example.com/mcp",
            Transport = "auto",
            AuthMode = "oauth",
            HeadersJson = SnapshotLoader.WriteHeaders([new UpstreamHeader("Authorization", vault.Protect("Bearer header-1")), new UpstreamHeader("X-Key", vault.Protect("header-2"))]),
            OAuthJson = SnapshotLoader.WriteOAuth(new UpstreamOAuthSettings
            {
                ClientId = "gatehouse",
                ProtectedClientSecret = vault.Protect("client-secret"),
                ProtectedPrivateKey = vault.Protect("-----BEGIN PRIVATE KEY-----"),
            }),
            CreatedAt = now,
            UpdatedAt = now,
        };
        _connectionId = Guid.NewGuid();
        await using var db = _storage.CreateContext();
        db.Servers.Add(server);
        db.OAuthClients.Add(new OAuthClientRecord
        {
            Id = Guid.NewGuid(),
            Issuer = "https://as.example.com",
            RedirectUri = "https://gatehouse.example.com/oauth/callback",
            ClientId = "dcr-client",
            ClientSecretSealed = vault.Protect("dcr-secret"),
            AuthMethod = "client_secret_basic",
            Source = "dcr",
            RegistrationAccessTokenSealed = vault.Protect("registration-token"),
            CreatedAt = now,
        });
        db.UpstreamConnections.Add(new UpstreamConnectionRecord
        {
            Id = _connectionId,
            ServerId = server.Id,
            OwnerKind = "server",
            OwnerId = "gh",
            Status = "connected",
            AccessTokenSealed = vault.Protect("access-token"),
            RefreshTokenSealed = vault.Protect("refresh-token"),
            UpdatedAt = now,
        });
        db.OAuthPendingFlows.Add(new OAuthPendingFlowRecord
        {
            Id = "flow-hash",
            StateHash = "state-hash",
            ServerId = server.Id,
            OwnerKind = "server",
            OwnerId = "gh",
            Issuer = "https://as.example.com",
            AuthorizationServerJson = "{}",
            ClientId = "dcr-client",
            ClientSource = "dcr",
            RedirectUri = "https://gatehouse.example.com/oauth/callback",
            CodeVerifierSealed = vault.Protect("code-verifier"),
            AuthorizationUrlSealed = vault.Protect("https://as.example.com/authorize?state=s"),
            CreatedAt = now,
            ExpiresAt = now.AddMinutes(10),
        });
        db.AuthorizationServerKeys.Add(new AuthorizationServerKeyRecord { Id = "as-key", Purpose = "signing", KeySealed = vault.Protect("private-key"), CreatedAt = now });
        await new LoginProviderSettings("https://login.example.com", "gatehouse", vault.Protect("idp-secret"), "groups", null, "Example", false).StageAsync(db, now, CancellationToken.None);
        db.Settings.Add(new GatewaySettingRecord { Key = "public_url", Value = "https://gatehouse.example.com", UpdatedAt = now });
        db.DataProtectionKeys.Add(new DataProtectionKeyRecord { FriendlyName = "key-1", XmlSealed = vault.Protect("<key id=\"1\" />"), CreatedAt = now });
        await db.SaveChangesAsync();
        return vault;
    }

    /// <summary>Every sealed value in the database, read straight from the records (not through <see cref="SealedColumns"/>).</summary>
    private async Task<Dictionary<string, string>> ReadSealedAsync()
    {
        await using var db = _storage.CreateContext();
        var found = new Dictionary<string, string>();
        var server = await db.Servers.AsNoTracking().SingleAsync();
        foreach (var header in SnapshotLoader.ReadHeaders(server.HeadersJson))
        {
            found[$"header {header.Name}"] = header.ProtectedValue;
        }

        var oauth = SnapshotLoader.ReadOAuth(server.OAuthJson)!;
        found["oauth client secret"] = oauth.ProtectedClientSecret!;
        found["oauth private key"] = oauth.ProtectedPrivateKey!;
        var client = await db.OAuthClients.AsNoTracking().SingleAsync();
        found["client secret"] = client.ClientSecretSealed!;
        found["registration token"] = client.RegistrationAccessTokenSealed!;
        var connection = await db.UpstreamConnections.AsNoTracking().SingleAsync();
        found["access token"] = connection.AccessTokenSealed!;
        found["refresh token"] = connection.RefreshTokenSealed!;
        var flow = await db.OAuthPendingFlows.AsNoTracking().SingleAsync();
        found["code verifier"] = flow.CodeVerifierSealed;
        found["authorization url"] = flow.AuthorizationUrlSealed;
        found["authorization server key"] = (await db.AuthorizationServerKeys.AsNoTracking().SingleAsync()).KeySealed;
        found["login provider secret"] = LoginProviderSettings.Parse((await db.Settings.AsNoTracking().SingleAsync(s => s.Key == LoginProviderSettings.Key)).Value)!.ProtectedClientSecret;
        found["data protection key"] = (await db.DataProtectionKeys.AsNoTracking().SingleAsync()).XmlSealed;
        return found;
    }

    private async Task<List<string>> DataKeyIdsAsync()
    {
        await using var db = _storage.CreateContext();
        return await db.DataKeys.AsNoTracking().OrderBy(k => k.Id).Select(k => k.Id + (k.Active ? "*" : "")).ToListAsync();
    }

    private Task<EnvelopeVault> OpenVaultAsync(MasterKey master) => OpenVaultAsync(master, _storage);

    private static async Task<EnvelopeVault> OpenVaultAsync(MasterKey master, GatehouseStorage storage)
    {
        await storage.InitializeAsync();
        await using var db = storage.CreateContext();
        return await EnvelopeVault.OpenAsync(db, master, TimeProvider.System);
    }

    private static string KeyIdOf(string sealedValue) => sealedValue.Split('.')[1];

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
