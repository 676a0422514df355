using Gatehouse.Admin.Administration;
using Gatehouse.Admin.Api;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Decisions;
using Gatehouse.Core.Security;
using Gatehouse.Identity.Keys;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Telemetry;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Decisions;
using Gatehouse.Storage.Vault;
using Gatehouse.Core.Connections;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Flows;
using Gatehouse.UpstreamAuth.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Host.Hosting;

/// <summary>Composes the gateway: storage, vault, proxy, admin API.</summary>
public static class GatehouseApplication
{
    /// <summary>Opens storage (creating it on first run) and builds the web application, not yet started.</summary>
    public static async Task<WebApplication> BuildAsync(ServeSettings settings, CancellationToken ct = default)
    {
        var storage = new GatehouseStorage(settings.DataDirectory);
        await storage.InitializeAsync(ct);
        var masterKey = MasterKey.Load(storage.DataDirectory, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        EnvelopeVault vault;
        await using (var db = storage.CreateContext())
        {
            vault = await EnvelopeVault.OpenAsync(db, masterKey, TimeProvider.System, ct);
        }

        var authorizationServerKeys = await AuthorizationServerKeys.LoadOrCreateAsync(storage, vault, TimeProvider.System, ct);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
        });
        builder.Logging.ClearProviders();
        // One console provider, with the simple formatter on one line. Logs go to stderr so that stdout carries only
        // what the CLI prints (scripts parse it).
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        // Per-request framework logs would cost more than the proxying itself; Gatehouse logs its own decisions.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // OpenIddict narrates every request at Information; Gatehouse keeps its own audit of registrations and consents.
        builder.Logging.AddFilter("OpenIddict", LogLevel.Warning);
        // The key ring's repository seals each key's XML with the vault, so the framework's "no XML encryptor" warning is moot.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        settings.ConfigureLogging?.Invoke(builder.Logging);

        var snapshots = new StoredSnapshotSource(storage);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(storage);
        builder.Services.AddSingleton(snapshots);
        builder.Services.AddSingleton<IGatewaySnapshotSource>(snapshots);
        builder.Services.AddSingleton<ISecretProtector>(vault);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BufferedGrantUsageRecorder>();
        builder.Services.AddSingleton<IGrantUsageRecorder>(sp => sp.GetRequiredService<BufferedGrantUsageRecorder>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BufferedGrantUsageRecorder>());
        builder.Services.AddHostedService<RevisionPoller>();
        builder.Services.AddSingleton(sp => new DecisionLogWriter(
            storage, new DecisionLogOptions
            {
                Retention = settings.DecisionRetention, MaxQueuedBytes = settings.DecisionQueueBytes, Overflow = settings.DecisionLogOverflow,
            }, TimeProvider.System, sp.GetRequiredService<ILogger<DecisionLogWriter>>()));
        builder.Services.AddSingleton<IDecisionLog>(sp => settings.DecisionLogEnabled ? sp.GetRequiredService<DecisionLogWriter>() : NullDecisionLog.Instance);
        builder.Services.AddHostedService<DecisionLogService>();
        builder.Services.AddGatehouseProxy(masterKey.DeriveKey("session-tickets/v1"), settings.ConfigureProxy);
        var upstreamAuthOptions = new UpstreamAuthOptions();
        settings.ConfigureUpstreamAuth?.Invoke(upstreamAuthOptions);
        builder.Services.AddSingleton(sp => new UpstreamAuthServices(
            storage, vault, settings.UpstreamAuthTime ?? TimeProvider.System, upstreamAuthOptions, () => { storage.TouchChangeStamp(); snapshots.Reload(); },
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<GatehouseTelemetry>().RecordTokenRefresh));
        builder.Services.AddSingleton(sp => new UpstreamTokenBroker(
            sp.GetRequiredService<UpstreamAuthServices>(), () => snapshots.Current.Revision, sp.GetRequiredService<ILogger<UpstreamTokenBroker>>()));
        builder.Services.AddSingleton<IUpstreamTokenSource>(sp => sp.GetRequiredService<UpstreamTokenBroker>());
        builder.Services.AddSingleton<IUserConnectLinks>(sp => new UserConnectLinks(sp.GetRequiredService<UpstreamAuthServices>()));
        builder.Services.AddSingleton(sp => new ConnectFlows(sp.GetRequiredService<UpstreamAuthServices>(), sp.GetRequiredService<UpstreamTokenBroker>().Forget));
        builder.Services.AddSingleton(new ConfigurationChanges(storage, () =>
        {
            storage.TouchChangeStamp();
            snapshots.Reload();
        }));
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<IUpstreamConsentDuringSignIn, SignInUpstreamConsent>();
        builder.Services.AddSingleton<IUserConnections, UserConnections>();
        builder.Services.AddHostedService<GatewayAddressRecorder>();
        var proxyOptions = new Gatehouse.Proxy.ProxyOptions();
        settings.ConfigureProxy?.Invoke(proxyOptions);
        builder.Services.AddGatehouseAuthorizationServer(storage, authorizationServerKeys, VerifyAdminTokenAsync, o =>
        {
            o.SecureCookies = proxyOptions.PublicUrl?.Scheme == Uri.UriSchemeHttps || settings.Urls.Contains("https://", StringComparison.OrdinalIgnoreCase);
            o.OrganisationBackchannel = allowLoopback => new GuardedHttpMessageHandler(
                allowLoopback ? OutboundUrlPolicy.WithLoopback : OutboundUrlPolicy.PublicOnly, TimeSpan.FromSeconds(15));
            settings.ConfigureAuthorizationServer?.Invoke(o);
        });
        AddTelemetry(builder, settings);
        builder.Services.AddOpenApi("admin");

        // Minimal APIs answer an unreadable body with a bare 400; thrown, LastResortErrors answers it with what was wrong.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        var app = builder.Build();
        foreach (var problem in storage.PermissionWarnings)
        {
            HostLog.LoosePermissions(app.Logger, problem);
        }

        app.Use(LastResortErrors.InvokeAsync);
        app.UseGatehouseAuthorizationServer();
        app.UseGatehouseAdminApiGate(storage);
        app.MapGatehouseProxy();
        app.MapGatehouseAuthorizationServer();
        void Changed()
        {
            storage.TouchChangeStamp();
            snapshots.Reload();
        }

        app.MapGatehouseAdminApi(storage, db => new GatewayAdministration(db, vault, TimeProvider.System, Changed, app.Services.GetRequiredService<ConnectFlows>()))
            .MapPolicyApi(storage, db => new PolicyAdministration(db, TimeProvider.System, Changed))
            .MapConnectionApi(app.Services.GetRequiredService<ConnectFlows>())
            .MapIdentityApi(app.Services.GetRequiredService<ConnectFlows>(), Changed);
        app.MapOpenApi("/admin/api/openapi/{documentName}.json");
        app.MapUpstreamConnect(app.Services.GetRequiredService<ConnectFlows>(), app.Services.GetRequiredService<UpstreamAuthServices>(), VerifyAdminTokenAsync,
            Gatehouse.Identity.Interaction.LoginScheme.SignedInUserAsync, Gatehouse.Identity.Interaction.LoginScheme.LoginPath);
        app.MapGet("/healthz", () => Results.Text("ok"));
        if (settings.MetricsEnabled)
        {
            // Unauthenticated, like /healthz: fine on loopback; an operator exposing the gateway wider fronts it.
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        }

        return app;

        async Task<bool> VerifyAdminTokenAsync(string token, CancellationToken cancellationToken)
        {
            await using var db = storage.CreateContext();
            return await AdminCredentials.VerifyAsync(db, "Bearer " + token, cancellationToken);
        }
    }

    /// <summary>Where the Prometheus scrape is served.</summary>
    public const string MetricsPath = "/metrics";

    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    private const string OtlpTracesEndpointVariable = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";

    /// <summary>
    /// The proxy's instruments, the Prometheus exporter (unless <c>--metrics off</c>), and OTLP traces when an endpoint
    /// is configured. Without an exporter nothing listens, so the request path pays nothing for what is off.
    /// </summary>
    private static void AddTelemetry(WebApplicationBuilder builder, ServeSettings settings)
    {
        builder.Services.AddSingleton(sp =>
        {
            var telemetry = new GatehouseTelemetry(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>());
            if (settings.DecisionLogEnabled)
            {
                var writer = sp.GetRequiredService<DecisionLogWriter>();
                telemetry.ObservePendingDecisions(() => writer.Pending);
                telemetry.ObserveDecisionOverflow(() => writer.Overflowed);
            }

            return telemetry;
        });

        var tracing = settings.OtlpEndpoint is not null
            || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable))
            || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpTracesEndpointVariable));
        if (!settings.MetricsEnabled && !tracing)
        {
            return;
        }

        var otel = builder.Services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
        {
            otel.ConfigureResource(resource => resource.AddService("gatehouse"));
        }

        if (settings.MetricsEnabled)
        {
            otel.WithMetrics(metrics => metrics
                .AddMeter(GatehouseTelemetry.MeterName)
                // The exporter caches a scrape for 300 ms by default; Prometheus scrapes every few seconds at most, and
                // a fresh answer lets a scrape right after a request see it.
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        }

        if (tracing)
        {
            otel.WithTracing(traces => traces
                .AddSource(GatehouseTelemetry.ActivitySourceName)
                // Upstream calls as client spans under the request's span (query values are redacted by the instrumentation).
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(o =>
                {
                    if (settings.OtlpEndpoint is not { } endpoint)
                    {
                        return;
                    }

                    // Unlike the environment variable, an endpoint set in code is used as is; over HTTP that means the
                    // signal's path must be added here.
                    o.Endpoint = o.Protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath == "/"
                        ? new Uri(endpoint, "v1/traces")
                        : endpoint;
                }));
        }
    }

    /// <summary>The addresses the started application listens on.</summary>
    public static IReadOnlyList<string> ListeningAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
