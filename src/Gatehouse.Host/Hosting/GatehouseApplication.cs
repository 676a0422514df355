using Gatehouse.Admin.Administration;
using Gatehouse.Admin.Api;
using Gatehouse.Core.Configuration;
using Gatehouse.Core.Decisions;
using Gatehouse.Core.Security;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Storage;
using Gatehouse.Storage.Configuration;
using Gatehouse.Storage.Decisions;
using Gatehouse.Storage.Vault;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;

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
            storage, new DecisionLogOptions { Retention = settings.DecisionRetention }, TimeProvider.System, sp.GetRequiredService<ILogger<DecisionLogWriter>>()));
        builder.Services.AddSingleton<IDecisionLog>(sp => settings.DecisionLogEnabled ? sp.GetRequiredService<DecisionLogWriter>() : NullDecisionLog.Instance);
        builder.Services.AddHostedService<DecisionLogService>();
        builder.Services.AddGatehouseProxy(masterKey.DeriveKey("session-tickets/v1"), settings.ConfigureProxy);
        builder.Services.AddOpenApi("admin");

        var app = builder.Build();
        app.MapGatehouseProxy();
        void Changed()
        {
            storage.TouchChangeStamp();
            snapshots.Reload();
        }

        app.MapGatehouseAdminApi(storage, db => new GatewayAdministration(db, vault, TimeProvider.System, Changed))
            .MapPolicyApi(storage, db => new PolicyAdministration(db, TimeProvider.System, Changed));
        app.MapOpenApi("/admin/api/openapi/{documentName}.json");
        app.MapGet("/healthz", () => Results.Text("ok"));
        return app;
    }

    /// <summary>The addresses the started application listens on.</summary>
    public static IReadOnlyList<string> ListeningAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
