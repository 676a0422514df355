using System.Text.Json;
using Gatehouse.Core.Security;
using Gatehouse.Core.Servers;
using Gatehouse.Storage;
using Gatehouse.UpstreamAuth.Net;
using Gatehouse.UpstreamAuth.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.UpstreamAuth.Connections;

/// <summary>What every part of the upstream OAuth client shares: storage, vault, clock, the guarded HTTP client and the protocol clients.</summary>
public sealed class UpstreamAuthServices : IDisposable
{
    /// <summary>Creates the bundle; <paramref name="onChanged"/> signals running gateways after a connection changed.</summary>
    public UpstreamAuthServices(
        GatehouseStorage storage, ISecretProtector vault, TimeProvider time, UpstreamAuthOptions options, Action onChanged,
        ILoggerFactory? loggers = null, Action<string, string>? onRefresh = null)
    {
        Storage = storage;
        Vault = vault;
        Time = time;
        Options = options;
        OnChanged = onChanged;
        Loggers = loggers ?? NullLoggerFactory.Instance;
        OnRefresh = onRefresh ?? ((_, _) => { });
        Http = new GuardedHttpClient();
        Discovery = new AuthorizationDiscovery(Http);
        Registration = new ClientRegistrationClient(Http);
        Tokens = new TokenEndpointClient(Http, time);
    }

    /// <summary>The database.</summary>
    public GatehouseStorage Storage { get; }

    /// <summary>Seals tokens and client secrets.</summary>
    public ISecretProtector Vault { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Tuning.</summary>
    public UpstreamAuthOptions Options { get; }

    /// <summary>Signals running gateways (change stamp) after a committed change.</summary>
    public Action OnChanged { get; }

    /// <summary>Logger factory.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>Called with (server, outcome) after every refresh attempt, for metrics.</summary>
    public Action<string, string> OnRefresh { get; }

    /// <summary>Gatehouse's public base URL (set by <c>serve</c> once it listens; loaded from the database by the CLI).</summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>
    /// Where Gatehouse's Client ID Metadata Document is published when not under <see cref="PublicBaseUrl"/> (an HTTPS
    /// front or static host serving the same document); it is then Gatehouse's client id at CIMD-capable servers.
    /// </summary>
    public Uri? ClientMetadataUrl { get; set; }

    /// <summary>An absolute URL where an admin reconnects <paramref name="server"/> (the page asks for the admin token).</summary>
    public string? AdminConnectUrl(string server) =>
        PublicBaseUrl is { } baseUrl ? $"{GatewayAddress.Normalize(baseUrl)}{GatewayAddress.ConnectPath}/server/{Uri.EscapeDataString(server)}" : null;

    /// <summary>What a person must do to (re)connect <paramref name="server"/>, for error messages.</summary>
    public string ConnectHint(string server) => AdminConnectUrl(server) is { } url
        ? $"An admin can connect it at {url} or with: gatehouse server connect {server}"
        : $"An admin can connect it with: gatehouse server connect {server}";

    /// <summary>The SSRF-guarded HTTP client for every authorization request.</summary>
    public GuardedHttpClient Http { get; }

    /// <summary>Protected-resource and authorization-server discovery.</summary>
    public AuthorizationDiscovery Discovery { get; }

    /// <summary>Dynamic client registration.</summary>
    public ClientRegistrationClient Registration { get; }

    /// <summary>Token and revocation requests.</summary>
    public TokenEndpointClient Tokens { get; }

    /// <summary>The outbound URL policy of a server's authorization fetches.</summary>
    public static OutboundUrlPolicy PolicyFor(ServerDefinition server) => new(server.OAuth?.AllowLoopback ?? false);

    /// <summary>Stores authorization-server metadata with a connection or flow.</summary>
    public static string Serialize(AuthorizationServerMetadata metadata) => JsonSerializer.Serialize(metadata);

    /// <summary>Reads stored authorization-server metadata.</summary>
    public static AuthorizationServerMetadata Deserialize(string json) =>
        JsonSerializer.Deserialize<AuthorizationServerMetadata>(json) ?? throw new InvalidOperationException("Stored authorization server metadata is empty.");

    /// <inheritdoc />
    public void Dispose() => Http.Dispose();
}
