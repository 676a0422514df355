using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Gatehouse.Storage.Vault;
using Gatehouse.UpstreamAuth.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.TokenBrokerBenchmarks;

/// <summary>Entry point: BenchmarkDotNet's switcher, so --filter and --job work.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

/// <summary>
/// The per-request cost of an OAuth upstream: <see cref="UpstreamTokenBroker.GetAsync"/> with a fresh token in its
/// cache (the revision check, the cache lookup and opening the sealed token), against opening a sealed static header
/// value, which is what a header-authenticated upstream pays.
/// </summary>
[MemoryDiagnoser]
public class TokenBrokerBenchmarks
{
    private string _directory = null!;
    private EnvelopeVault _vault = null!;
    private UpstreamTokenBroker _broker = null!;
    private ServerDefinition _server = null!;
    private ConnectionOwner _owner;
    private string _sealedHeader = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Directory.CreateTempSubdirectory("gatehouse-bench-").FullName;
        var storage = new GatehouseStorage(_directory);
        await storage.InitializeAsync();
        await using var db = storage.CreateContext();
        _vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(_directory, null), TimeProvider.System);
        var id = Guid.NewGuid();
        _server = new ServerDefinition { Id = id, Name = "bench", Url = new Uri("http://127.0.0.1:9/mcp"), AuthMode = UpstreamAuthMode.OAuth, OAuth = new UpstreamOAuthSettings() };
        _owner = ConnectionOwner.Shared(id);
        var now = DateTimeOffset.UtcNow;
        db.Servers.Add(new ServerRecord { Id = id, Name = "bench", Url = "http://127.0.0.1:9/mcp", Transport = "streamable-http", AuthMode = "oauth", CreatedAt = now, UpdatedAt = now });
        var token = new string('t', 900);
        db.UpstreamConnections.Add(new UpstreamConnectionRecord
        {
            Id = Guid.NewGuid(), ServerId = id, OwnerKind = _owner.KindName, OwnerId = _owner.Id, Status = "connected",
            AccessTokenSealed = _vault.Protect(token), AccessTokenExpiresAt = now.AddHours(1), Version = 1, UpdatedAt = now,
        });
        await db.SaveChangesAsync();
        _sealedHeader = _vault.Protect(token);
        _broker = new UpstreamTokenBroker(new UpstreamAuthServices(storage, _vault, TimeProvider.System, new UpstreamAuthOptions(), () => { }), () => 1, NullLogger<UpstreamTokenBroker>.Instance);
        await _broker.GetAsync(_server, _owner, CancellationToken.None);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Baseline = true, Description = "static header: open the sealed value")]
    public string StaticHeader() => _vault.Unprotect(_sealedHeader);

    [Benchmark(Description = "oauth: broker.GetAsync, cached fresh token")]
    public async Task<UpstreamTokenResult> OAuthCachedToken() => await _broker.GetAsync(_server, _owner, CancellationToken.None);
}
