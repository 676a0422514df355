using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Entities;
using Gatehouse.Storage.Vault;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Protocol;
using Gatehouse.UpstreamAuth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.UpstreamAuth.Tests.Connections;

/// <summary>
/// One OAuth upstream connection on a real database and vault in a temporary data directory, with a fake authorization
/// server (a real Kestrel token endpoint on 127.0.0.1) whose answers each test chooses, and brokers over them.
/// </summary>
/// <remarks>
/// Every broker made here has its own <see cref="UpstreamAuthServices"/>, as a separate replica would, over the same
/// database; they share the configuration revision that <see cref="BumpRevision"/> moves.
/// </remarks>
internal sealed class TokenBrokerHarness : IAsyncDisposable
{
    /// <summary>The resource indicator stored with the connection.</summary>
    public const string Resource = "https://mcp.example.com/mcp";

    private readonly string _dataDirectory;
    private readonly List<UpstreamAuthServices> _services = [];
    private Func<HttpContext, Task> _tokenEndpoint = context => LoopbackServer.Json(context, """{"error":"server_error"}""", 500);
    private Func<HttpContext, Task> _revocationEndpoint = _ => Task.CompletedTask;
    private long _revision = 1;

    private TokenBrokerHarness(string dataDirectory, GatehouseStorage storage)
    {
        _dataDirectory = dataDirectory;
        Storage = storage;
        Server = new ServerDefinition { Id = Guid.NewGuid(), Name = "docs", Url = new Uri(Resource), AuthMode = UpstreamAuthMode.OAuth };
        Owner = ConnectionOwner.Shared(Server.Id);
    }

    /// <summary>The database.</summary>
    public GatehouseStorage Storage { get; }

    /// <summary>The vault the tokens are sealed with.</summary>
    public EnvelopeVault Vault { get; private set; } = null!;

    /// <summary>The fake authorization server.</summary>
    public LoopbackServer AuthorizationServer { get; private set; } = null!;

    /// <summary>The upstream server (pre-registered client <c>c1</c>, secret <c>s1</c>).</summary>
    public ServerDefinition Server { get; private set; }

    /// <summary>The shared connection's owner.</summary>
    public ConnectionOwner Owner { get; }

    /// <summary>The requests the token endpoint received, in order.</summary>
    public IReadOnlyList<RecordedRequest> TokenRequests => AuthorizationServer.Requests.Where(r => r.Path == "/token").ToArray();

    /// <summary>
    /// Creates the data directory, the server row and its connection: connected, access token <c>at-1</c> (expired unless
    /// <paramref name="configure"/> says otherwise), refresh token <c>rt-1</c>, scope <c>a</c>, version 1.
    /// </summary>
    public static async Task<TokenBrokerHarness> StartAsync(Action<UpstreamConnectionRecord, EnvelopeVault>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gatehouse-broker-" + Guid.NewGuid().ToString("N"));
        var storage = new GatehouseStorage(directory);
        await storage.InitializeAsync();
        var harness = new TokenBrokerHarness(directory, storage);
        await using (var db = storage.CreateContext())
        {
            harness.Vault = await EnvelopeVault.OpenAsync(db, MasterKey.Load(directory, null), TimeProvider.System);
        }

        harness.AuthorizationServer = await LoopbackServer.StartAsync((app, _) =>
        {
            app.MapPost("/token", (HttpContext c) => harness._tokenEndpoint(c));
            app.MapPost("/revoke", (HttpContext c) => harness._revocationEndpoint(c));
        });
        harness.Server = harness.Server with
        {
            OAuth = new UpstreamOAuthSettings { AllowLoopback = true, ClientId = "c1", ProtectedClientSecret = harness.Vault.Protect("s1") },
        };
        await harness.SeedAsync(configure);
        return harness;
    }

    /// <summary>Sets how the token endpoint answers from now on.</summary>
    public void TokenEndpointAnswers(Func<HttpContext, Task> answer) => _tokenEndpoint = answer;

    /// <summary>Sets how the revocation endpoint answers from now on (by default: 200, empty).</summary>
    public void RevocationEndpointAnswers(Func<HttpContext, Task> answer) => _revocationEndpoint = answer;

    /// <summary>The revocation requests received, in order.</summary>
    public IReadOnlyList<RecordedRequest> RevocationRequests => AuthorizationServer.Requests.Where(r => r.Path == "/revoke").ToArray();

    /// <summary>Upstream OAuth services of their own over the shared database and vault (for connect and disconnect).</summary>
    public UpstreamAuthServices CreateServices()
    {
        var services = new UpstreamAuthServices(Storage, Vault, TimeProvider.System, new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.FromMilliseconds(10) }, () => { });
        _services.Add(services);
        return services;
    }

    /// <summary>The token endpoint answers every request with <paramref name="json"/> and <paramref name="status"/>.</summary>
    public void TokenEndpointAnswers(string json, int status = 200) => _tokenEndpoint = context => LoopbackServer.Json(context, json, status);

    /// <summary>Another process changed the configuration: the revision every broker here reads moves on.</summary>
    public void BumpRevision() => Interlocked.Increment(ref _revision);

    /// <summary>A broker with its own services (its own replica id), over the shared database and vault.</summary>
    public UpstreamTokenBroker CreateBroker(UpstreamAuthOptions? options = null, Uri? publicBaseUrl = null, TimeProvider? time = null)
    {
        var services = new UpstreamAuthServices(
            Storage, Vault, time ?? TimeProvider.System, options ?? new UpstreamAuthOptions { TokenRequestBackoff = TimeSpan.FromMilliseconds(10) }, () => { })
        {
            PublicBaseUrl = publicBaseUrl,
        };
        _services.Add(services);
        return new UpstreamTokenBroker(services, () => Interlocked.Read(ref _revision), NullLogger<UpstreamTokenBroker>.Instance);
    }

    /// <summary>The connection row as stored now.</summary>
    public async Task<UpstreamConnectionRecord> ReadConnectionAsync()
    {
        await using var db = Storage.CreateContext();
        return await db.UpstreamConnections.AsNoTracking().SingleAsync(c => c.ServerId == Server.Id);
    }

    /// <summary>Changes the connection row directly, as another process would.</summary>
    public async Task UpdateConnectionAsync(Action<UpstreamConnectionRecord> change)
    {
        await using var db = Storage.CreateContext();
        var row = await db.UpstreamConnections.SingleAsync(c => c.ServerId == Server.Id);
        change(row);
        await db.SaveChangesAsync();
    }

    /// <summary>Opens a sealed column.</summary>
    public string? Unseal(string? sealedValue) => sealedValue is null ? null : Vault.Unprotect(sealedValue);

    /// <summary>A token response body.</summary>
    public static string TokenJson(string accessToken, string? refreshToken = null, int expiresIn = 3600, string? extra = null) =>
        $$"""{"access_token":"{{accessToken}}","token_type":"Bearer","expires_in":{{expiresIn}}{{(refreshToken is null ? "" : $",\"refresh_token\":\"{refreshToken}\"")}}{{(extra is null ? "" : "," + extra)}}}""";

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var services in _services)
        {
            services.Dispose();
        }

        await AuthorizationServer.DisposeAsync();
        using (var connection = new SqliteConnection(Storage.ConnectionString))
        {
            // Pooled connections keep the database files open.
            SqliteConnection.ClearPool(connection);
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory left behind is harmless.
        }
    }

    private async Task SeedAsync(Action<UpstreamConnectionRecord, EnvelopeVault>? configure)
    {
        var now = DateTimeOffset.UtcNow;
        var metadata = new AuthorizationServerMetadata
        {
            Issuer = AuthorizationServer.Origin,
            TokenEndpoint = AuthorizationServer.Url("/token"),
            RevocationEndpoint = AuthorizationServer.Url("/revoke"),
            GrantTypesSupported = ["authorization_code", "refresh_token", "client_credentials"],
            TokenEndpointAuthMethodsSupported = ["client_secret_basic"],
        };
        var row = new UpstreamConnectionRecord
        {
            Id = Guid.NewGuid(),
            ServerId = Server.Id,
            OwnerKind = Owner.KindName,
            OwnerId = Owner.Id,
            Status = ConnectionStatus.Connected.ToName(),
            Issuer = AuthorizationServer.Origin,
            AuthorizationServerJson = UpstreamAuthServices.Serialize(metadata),
            ClientId = "c1",
            ClientSource = ClientRegistry.PreRegistered,
            GrantType = "authorization_code",
            Resource = Resource,
            Scopes = "a",
            RequestedScopes = "a",
            AccessTokenSealed = Vault.Protect("at-1"),
            AccessTokenExpiresAt = now.AddMinutes(-1),
            RefreshTokenSealed = Vault.Protect("rt-1"),
            ConnectedAt = now.AddHours(-2),
            ConnectedBy = "admin",
            Version = 1,
            UpdatedAt = now.AddHours(-2),
        };
        configure?.Invoke(row, Vault);

        await using var db = Storage.CreateContext();
        db.Servers.Add(new ServerRecord
        {
            Id = Server.Id,
            Name = Server.Name,
            Url = Server.Url.ToString(),
            Transport = "auto",
            AuthMode = SnapshotLoader.AuthModeName(Server.AuthMode),
            OAuthJson = SnapshotLoader.WriteOAuth(Server.OAuth),
            CreatedAt = now,
            UpdatedAt = now,
        });
        db.UpstreamConnections.Add(row);
        await db.SaveChangesAsync();
    }
}
