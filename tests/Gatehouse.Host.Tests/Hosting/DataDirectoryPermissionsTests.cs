using System.Net.Http.Headers;
using System.Net.Http.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Host.Hosting;
using Gatehouse.Storage;

namespace Gatehouse.Host.Tests.Hosting;

/// <summary>The data directory holds the master key, the admin token and the sealed database: only its owner may read it.</summary>
public sealed class DataDirectoryPermissionsTests : IDisposable
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _parent = Directory.CreateTempSubdirectory("gatehouse-perms-").FullName;

    [Fact]
    public async Task A_new_data_directory_is_0700_and_its_database_wal_shm_key_and_token_files_are_0600()
    {
        var dir = Path.Combine(_parent, "fresh", ".gatehouse");
        await ServeAndWriteAsync(dir);
    }

    [Fact]
    public async Task An_existing_data_directory_and_files_readable_by_others_are_tightened_at_start()
    {
        var dir = Path.Combine(_parent, "loose");
        await ServeAndWriteAsync(dir);
        const UnixFileMode loose = UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(dir, OwnerOnlyDirectory | loose | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        foreach (var name in new[] { GatehouseStorage.DatabaseFileName, "master.key", AdminCredentials.FileName })
        {
            File.SetUnixFileMode(Path.Combine(dir, name), OwnerOnlyFile | loose);
        }

        await ServeAndWriteAsync(dir);
    }

    /// <summary>Starts a gateway on <paramref name="dir"/>, writes through the admin API (so the WAL and shared-memory files exist) and checks every mode while it runs.</summary>
    private static async Task ServeAndWriteAsync(string dir)
    {
        await using var app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = dir, Urls = "http://127.0.0.1:0" });
        var token = await AdminCredentials.EnsureAsync(new GatehouseStorage(dir), TimeProvider.System)
            ?? File.ReadAllText(Path.Combine(dir, AdminCredentials.FileName)).Trim();
        await app.StartAsync();

        // Other tests in this process clear every SQLite pool, which closes the gateway's idle connections; when the last
        // one closes SQLite deletes the -wal and -shm files. An open connection of the test's own keeps them in place, so
        // the modes SQLite gave them can be read. It never writes: the gateway's own write below makes them.
        await using var holder = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, GatehouseStorage.DatabaseFileName), Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly, Pooling = false,
        }.ToString());
        await holder.OpenAsync();
        await using (var read = holder.CreateCommand())
        {
            read.CommandText = "SELECT count(*) FROM sqlite_master";
            await read.ExecuteScalarAsync();
        }

        using var http = new HttpClient { BaseAddress = new Uri(GatehouseApplication.ListeningAddresses(app).Single()) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var created = await http.PostAsJsonAsync("/admin/api/servers", new { name = "s" + Guid.NewGuid().ToString("N")[..8], url = "https://mcp.example.com/mcp" }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(dir));
        foreach (var name in new[] { GatehouseStorage.DatabaseFileName, GatehouseStorage.DatabaseFileName + "-wal", GatehouseStorage.DatabaseFileName + "-shm", "master.key", AdminCredentials.FileName })
        {
            var path = Path.Combine(dir, name);
            Assert.True(File.Exists(path), $"{name} should exist while the gateway runs");
            Assert.True(OwnerOnlyFile == File.GetUnixFileMode(path), $"{name}: {File.GetUnixFileMode(path)}");
        }

        await app.StopAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_parent, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
