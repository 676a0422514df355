using Gatehouse.Proxy;

namespace Gatehouse.Host.Hosting;

/// <summary>What <c>gatehouse serve</c> was asked to do.</summary>
public sealed record ServeSettings
{
    /// <summary>The data directory (database, key file, admin token).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Listen URLs; port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>Proxy limits and host checks.</summary>
    public Action<ProxyOptions>? ConfigureProxy { get; init; }

    /// <summary>Where Gatehouse's client metadata document is published, when not under the public URL (<c>--client-metadata-url</c>).</summary>
    public Uri? ClientMetadataUrl { get; init; }

    /// <summary>The clock of the upstream OAuth client (token expiry, refresh margin, flows); tests pass a fake one to expire tokens without waiting.</summary>
    public TimeProvider? UpstreamAuthTime { get; init; }

    /// <summary>Upstream OAuth tuning (refresh margin, retries); tests shorten the waits.</summary>
    public Action<Gatehouse.UpstreamAuth.Connections.UpstreamAuthOptions>? ConfigureUpstreamAuth { get; init; }

    /// <summary>Adjusts Gatehouse's authorization server (token lifetimes, allowed redirect schemes).</summary>
    public Action<Gatehouse.Identity.AuthorizationServerOptions>? ConfigureAuthorizationServer { get; init; }

    /// <summary>Extra logging set-up (tests capture every log line to prove no secret is ever written).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>How often to check the stored configuration revision (a safety net beside the change stamp).</summary>
    public TimeSpan RevisionPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether decisions are recorded at all (<c>--decision-log off</c> turns it off, e.g. to measure its cost).</summary>
    public bool DecisionLogEnabled { get; init; } = true;

    /// <summary>Most memory the queue of decision records not yet stored may hold (<c>--decision-log-max-bytes</c>, default 64 MiB).</summary>
    public long DecisionQueueBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>What happens while that queue is full (<c>--decision-log-overflow</c>): fail closed (503) by default.</summary>
    public Gatehouse.Storage.Decisions.DecisionLogOverflow DecisionLogOverflow { get; init; } = Gatehouse.Storage.Decisions.DecisionLogOverflow.FailClosed;

    /// <summary>How long decision records are kept (<c>--log-retention</c>).</summary>
    public TimeSpan DecisionRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Whether <c>GET /metrics</c> serves the Prometheus scrape (<c>--metrics off</c> turns metrics off entirely).</summary>
    public bool MetricsEnabled { get; init; } = true;

    /// <summary>Where traces go over OTLP (<c>--otlp-endpoint</c>); without it, only <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> turns tracing on.</summary>
    public Uri? OtlpEndpoint { get; init; }
}
