using System.Net;
using Gatehouse.Testing.Conformance;
using Gatehouse.Testing.Hosting;
using Gatehouse.Testing.Tools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Testing;

/// <summary>
/// A real MCP server (official C# SDK) running in-process on 127.0.0.1, used as the upstream behind the
/// gateway under test. It records every HTTP request it receives so tests can assert on exactly what the
/// gateway forwarded, and it exposes signals from inside its tools so tests can await them instead of sleeping.
/// </summary>
/// <remarks>
/// Endpoints: the MCP endpoint(s) of the chosen <see cref="UpstreamMode"/>, plus <c>POST /raw</c>, a
/// hand-written JSON-RPC responder whose answers carry unknown fields (see <see cref="RawResultJson"/>).
/// <see cref="UpstreamMode.OAuthProtected"/> adds <c>/.well-known/oauth-protected-resource[/mcp]</c>,
/// <c>GET /_test/auth-stats</c> and <c>POST /_test/reset-auth-stats</c>.
/// </remarks>
public sealed class TestUpstream : IAsyncDisposable
{
    /// <summary>
    /// The exact <c>result</c> bytes <c>POST /raw</c> returns for any request other than <c>initialize</c> and
    /// <c>tools/list</c>. The full response is
    /// <c>{"jsonrpc":"2.0","id":&lt;request id as sent&gt;,"result":RawResultJson,"x-top":1}</c>.
    /// </summary>
    public const string RawResultJson = """{"x-unknown":{"kept":true},"content":[{"type":"text","text":"raw"}]}""";

    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    private readonly WebApplication _app;
    private readonly RequestLog _log;
    private readonly UpstreamSignals _signals;
    private int _disposed;

    private TestUpstream(UpstreamMode mode, TestUpstreamOptions options, WebApplication app, RequestLog log, UpstreamSignals signals, UpstreamAuthStats authStats, int port)
    {
        Mode = mode;
        Options = options;
        _app = app;
        _log = log;
        _signals = signals;
        AuthStats = authStats;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        SseUri = new Uri(BaseUri, "sse");
        RawUri = new Uri(BaseUri, "raw");
        ResourceMetadataUri = new Uri(BaseUri, OAuthProtection.McpMetadataPath.TrimStart('/'));

        // A legacy server has no streamable endpoint. Pointing McpUri at /sse lets code that treats every mode
        // alike still work: a spec-compliant client POSTs there, gets 405, and falls back to GET /sse.
        McpUri = mode == UpstreamMode.LegacySse ? SseUri : new Uri(BaseUri, "mcp");
    }

    /// <summary>The transport era this upstream speaks.</summary>
    public UpstreamMode Mode { get; }

    /// <summary>The options it was started with.</summary>
    public TestUpstreamOptions Options { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>
    /// The streamable HTTP endpoint, <c>http://127.0.0.1:PORT/mcp</c>. In <see cref="UpstreamMode.LegacySse"/>
    /// mode there is none and this equals <see cref="SseUri"/>.
    /// </summary>
    public Uri McpUri { get; }

    /// <summary>The legacy HTTP+SSE endpoint, <c>http://127.0.0.1:PORT/sse</c>; only served in <see cref="UpstreamMode.LegacySse"/>.</summary>
    public Uri SseUri { get; }

    /// <summary><c>http://127.0.0.1:PORT/raw</c>, the hand-written JSON-RPC responder with unknown fields.</summary>
    public Uri RawUri { get; }

    /// <summary>
    /// <c>http://127.0.0.1:PORT/.well-known/oauth-protected-resource/mcp</c>, the RFC 9728 metadata that
    /// <see cref="UpstreamMode.OAuthProtected"/> serves and names in its challenges; not served in other modes.
    /// </summary>
    public Uri ResourceMetadataUri { get; }

    /// <summary>
    /// The bearer-token counters of <see cref="UpstreamMode.OAuthProtected"/> (also at <c>GET /_test/auth-stats</c>);
    /// always zero in other modes.
    /// </summary>
    public UpstreamAuthStats AuthStats { get; }

    /// <summary>A snapshot of every HTTP request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _log.Snapshot();

    /// <summary>Completed the first time a <c>slow</c> tool call observes cancellation of its request.</summary>
    public TaskCompletionSource CancellationObserved => _signals.CancellationObserved;

    /// <summary>Completed the first time a <c>slow</c> tool call starts waiting, so tests can cancel it deterministically.</summary>
    public TaskCompletionSource SlowCallStarted => _signals.SlowCallStarted;

    /// <summary>How many <c>slow</c> calls have observed cancellation.</summary>
    public int CancellationCount => _signals.CancellationCount;

    /// <summary>Starts an upstream with default options on a free loopback port.</summary>
    public static Task<TestUpstream> StartAsync(UpstreamMode mode, CancellationToken ct = default) => StartAsync(mode, null, ct);

    /// <summary>Starts an upstream of the given mode on 127.0.0.1 and returns once it accepts connections.</summary>
    public static async Task<TestUpstream> StartAsync(UpstreamMode mode, TestUpstreamOptions? options, CancellationToken ct = default)
    {
        options ??= new TestUpstreamOptions();
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown upstream mode.");
        }

        if (options.Port is < 0 or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "Port must be between 0 and 65535.");
        }

        if (mode == UpstreamMode.OAuthProtected && options.OAuth is null)
        {
            throw new ArgumentException($"{nameof(UpstreamMode.OAuthProtected)} needs {nameof(TestUpstreamOptions)}.{nameof(TestUpstreamOptions.OAuth)} (at least the issuer).", nameof(options));
        }

        var log = new RequestLog();
        var signals = new UpstreamSignals();
        var authStats = new UpstreamAuthStats();
        var app = Build(mode, options, log, signals, authStats);
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
            var port = BoundPort(app);
            return new TestUpstream(mode, options, app, log, signals, authStats, port);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Forgets the requests recorded so far (e.g. the handshake) so a test can focus on what follows.</summary>
    public void ClearRequests() => _log.Clear();

    /// <summary>
    /// Completes with the first recorded request (already received or still to come) matching the predicate.
    /// </summary>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> predicate, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return _log.WaitForAsync(predicate, ct);
    }

    /// <summary>Stops the server, closing open streams, and releases the port.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Open SSE streams may outlive the grace period; the dispose below tears them down.
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Mode} upstream at {BaseUri}";

    private static WebApplication Build(UpstreamMode mode, TestUpstreamOptions options, RequestLog log, UpstreamSignals signals, UpstreamAuthStats authStats)
    {
        // The empty builder reads no appsettings.json or environment variables: an upstream started inside some
        // other project's test run must not pick up that project's Kestrel endpoints or logging setup. It also
        // registers no logger providers, so the program form prints nothing but its one "listening on" line.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
        builder.Services.AddRoutingCore();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddSingleton(signals);
        builder.Services.AddSingleton(options.TimeProvider);

        var mcp = builder.Services
            .AddMcpServer(server =>
            {
                server.ServerInfo = new Implementation { Name = $"gatehouse-testing-{ModeName(mode)}", Version = "1.0.0" };
                server.ServerInstructions = $"Gatehouse test upstream ({ModeName(mode)}).";
            })
            .WithHttpTransport(transport =>
            {
                transport.SessionMode = mode switch
                {
                    // Stateless for OAuthProtected too: every request carries its own token, so no session
                    // has to be tied to the first request's user.
                    UpstreamMode.Stateless or UpstreamMode.OAuthProtected => HttpServerSessionMode.Stateless,
                    UpstreamMode.LegacySse => HttpServerSessionMode.Stateful,
                    _ => HttpServerSessionMode.StatefulForInitializeClients,
                };
                transport.EnableLegacySse = mode == UpstreamMode.LegacySse;
            });

        if (mode == UpstreamMode.Conformance)
        {
            mcp.AddConformancePrimitives();
        }
        else
        {
            mcp.WithTools<GatewayTestTools>();
        }

        if (mode == UpstreamMode.OAuthProtected)
        {
            mcp.WithTools<OAuthTestTools>();
            OAuthProtection.AddServices(builder.Services, options.OAuth!, authStats);
        }

        if (mode is UpstreamMode.StreamableStateful or UpstreamMode.Conformance)
        {
            // An in-memory IDistributedCache backs the SDK's event store, which assigns SSE event ids and
            // replays missed events to a client that reconnects with Last-Event-ID.
            builder.Services.AddDistributedMemoryCache();
            mcp.WithDistributedCacheEventStreamStore();
        }

        var app = builder.Build();

        if (options.RecordRequests)
        {
            app.Use((context, next) => UpstreamMiddleware.RecordAsync(context, log, options.MaxRecordedBodyBytes, () => next(context)));
        }

        if (options.RejectNonLocalhostOrigins ?? mode == UpstreamMode.Conformance)
        {
            app.Use((context, next) => UpstreamMiddleware.GuardLocalhostAsync(context, () => next(context)));
        }

        if (options.RequiredHeader is { } required)
        {
            app.Use((context, next) => UpstreamMiddleware.RequireHeaderAsync(context, required, () => next(context)));
        }

        if (mode == UpstreamMode.OAuthProtected)
        {
            var protection = app.Services.GetRequiredService<OAuthProtection>();
            app.Use((context, next) => protection.InvokeAsync(context, () => next(context)));
        }

        if (mode == UpstreamMode.LegacySse)
        {
            app.Use((context, next) => UpstreamMiddleware.LegacyOnlyAsync(context, () => next(context)));
        }

        app.MapPost("/raw", RawEndpoint.HandlePostAsync);

        // The SDK maps /sse and /message relative to the pattern, and a 2024-11-05 server lives at the root.
        app.MapMcp(mode == UpstreamMode.LegacySse ? string.Empty : "/mcp");
        return app;
    }

    private static int BoundPort(WebApplication app) => ServerAddresses.BoundPort(app.Services.GetRequiredService<IServer>());

    /// <summary>The command-line name of a mode, as used by the program form.</summary>
    public static string ModeName(UpstreamMode mode) => mode switch
    {
        UpstreamMode.StreamableStateful => "streamable",
        UpstreamMode.Stateless => "stateless",
        UpstreamMode.LegacySse => "legacy-sse",
        UpstreamMode.Conformance => "conformance",
        UpstreamMode.OAuthProtected => "oauth-protected",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown upstream mode."),
    };

    /// <summary>
    /// Parses a command-line mode name (<c>conformance</c>, <c>streamable</c>, <c>stateless</c>, <c>legacy-sse</c>,
    /// <c>oauth-protected</c>).
    /// </summary>
    public static bool TryParseModeName(string? name, out UpstreamMode mode)
    {
        foreach (var candidate in Enum.GetValues<UpstreamMode>())
        {
            if (string.Equals(ModeName(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                mode = candidate;
                return true;
            }
        }

        mode = default;
        return false;
    }
}
