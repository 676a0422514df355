using Gatehouse.Core.Decisions;
using Gatehouse.Core.Policy;
using Gatehouse.Core.Sessions;
using Gatehouse.Proxy;
using Gatehouse.Proxy.Bridging;
using Gatehouse.Proxy.Endpoints;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Gatehouse proxy.</summary>
public static class ProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the proxy's services. The host must also register an <c>IGatewaySnapshotSource</c>, an <c>ISecretProtector</c>,
    /// an <c>IGrantUsageRecorder</c>, and the 256-bit session ticket key through <paramref name="sessionTicketKey"/>.
    /// </summary>
    public static IServiceCollection AddGatehouseProxy(this IServiceCollection services, byte[] sessionTicketKey, Action<ProxyOptions>? configure = null)
    {
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new SessionTicketProtector(sessionTicketKey, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<ProxyOptions>>().Value.SessionLifetime));
        services.AddSingleton<HostOriginValidator>();
        services.TryAddSingleton<IDecisionLog>(NullDecisionLog.Instance);
        services.AddSingleton<ExchangeRecorder>();
        services.TryAddSingleton<IQuotaCounter, InMemoryQuotaCounter>();
        services.AddSingleton<PolicyEnforcer>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<ProtectedResourceMetadata>();
        services.AddSingleton<Admission>();
        services.AddSingleton<PostPipeline>();
        services.AddSingleton<Gatehouse.Proxy.Streams.OpenStreamRegistry>();
        services.AddSingleton<Gatehouse.Proxy.Streams.StreamHolds>();
        services.AddHostedService<Gatehouse.Proxy.Streams.OpenStreamWatcher>();
        services.AddSingleton<LegacySseEndpoint>();
        services.AddSingleton(sp => new BridgeRegistry(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<ProxyOptions>>().Value.BridgeIdleTimeout));
        services.AddSingleton<LegacyUpstreamBridge>();
        services.AddSingleton<LegacyClientBridge>();
        services.AddSingleton<StreamableHttpEndpoint>();
        return services;
    }
}
