using System.CommandLine;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Configuration;
using Gatehouse.Host.Hosting;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse serve</c>: runs the gateway.</summary>
internal static class ServeCommand
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen (';'-separated).", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        // A string, validated below: System.CommandLine has no parser for Uri.
        var publicUrl = new Option<string?>("--public-url") { Description = "The URL clients use, when Gatehouse is behind a reverse proxy or reached by a DNS name." };
        publicUrl.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                result.AddError($"--public-url '{value}' must be an absolute http:// or https:// URL, e.g. https://gatehouse.example.com");
            }
        });
        var clientMetadataUrl = new Option<string?>("--client-metadata-url")
        {
            Description = "Where Gatehouse's OAuth client metadata document (the JSON at /oauth/client-metadata.json) is published, when that is not under the public URL; an HTTPS URL. It becomes Gatehouse's client id at authorization servers that accept Client ID Metadata Documents.",
        };
        clientMetadataUrl.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != "https" || uri.AbsolutePath.Length <= 1))
            {
                result.AddError($"--client-metadata-url '{value}' must be an https:// URL with a path (the Client ID Metadata Document specification requires both).");
            }
        });
        var allowLoopbackClientMetadata = new Option<bool>("--allow-loopback-client-metadata")
        {
            Description = "Let MCP clients use client metadata document URLs on this machine (http://127.0.0.1/..., http://localhost/...) as their client_id. For tests and local development only; without it such documents must be on public https addresses.",
        };
        var allowedHosts = new Option<string[]>("--allowed-hosts") { Description = "Extra Host names accepted (DNS rebinding protection). Repeatable." };
        var allowedOrigins = new Option<string[]>("--allowed-origins") { Description = "Extra browser origins accepted. Repeatable." };
        var maxRequest = new Option<long>("--max-request-bytes") { Description = "Largest request body accepted.", DefaultValueFactory = _ => 4 * 1024 * 1024 };
        var maxResponse = new Option<long>("--max-response-bytes") { Description = "Largest JSON response relayed, and largest SSE event read whole (under a policy, bridged).", DefaultValueFactory = _ => 32 * 1024 * 1024 };
        var upstreamTimeout = new Option<string>("--upstream-timeout") { Description = "How long to wait for an upstream to start answering.", DefaultValueFactory = _ => "120s" };
        var sessionLifetime = new Option<string>("--session-lifetime") { Description = "How long a session id stays valid.", DefaultValueFactory = _ => "24h" };
        var decisionLog = new Option<string>("--decision-log") { Description = "on (default) or off: record one decision per request.", DefaultValueFactory = _ => "on" };
        decisionLog.AcceptOnlyFromAmong("on", "off");
        var maxStreams = new Option<int>("--max-streams-per-principal")
        {
            Description = "Most GET streams (Streamable HTTP or HTTP+SSE) one grant or user may hold open; beyond it, 429 (GH1801).", DefaultValueFactory = _ => 16,
        };
        var maxBridged = new Option<int>("--max-bridged-sessions-per-principal")
        {
            Description = "Most sessions bridged to HTTP+SSE upstreams one grant or user may hold open; beyond it, 429 (GH1802).", DefaultValueFactory = _ => 8,
        };
        var decisionLogMaxBytes = new Option<long>("--decision-log-max-bytes")
        {
            Description = "Most memory (bytes) the queue of decision records not yet stored may take when storage falls behind.", DefaultValueFactory = _ => 64L * 1024 * 1024,
        };
        var decisionLogOverflow = new Option<string>("--decision-log-overflow")
        {
            Description = "fail-closed (default): while that queue is full, refuse new requests with 503 (GH1800) rather than run them unrecorded; fail-open: keep serving and count the records not stored (gatehouse.decision_log.overflow).",
            DefaultValueFactory = _ => "fail-closed",
        };
        decisionLogOverflow.AcceptOnlyFromAmong("fail-closed", "fail-open");
        var metrics = new Option<string>("--metrics") { Description = "on (default) or off: serve Prometheus metrics at GET /metrics (unauthenticated; keep it on loopback or behind your proxy).", DefaultValueFactory = _ => "on" };
        metrics.AcceptOnlyFromAmong("on", "off");
        var otlpEndpoint = new Option<string?>("--otlp-endpoint") { Description = "Export traces over OTLP to this collector (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no tracing)." };
        var refreshMargin = new Option<string>("--token-refresh-margin") { Description = "Refresh upstream OAuth access tokens this long before they expire.", DefaultValueFactory = _ => "60s" };
        var logRetention = new Option<string>("--log-retention") { Description = "How long decision log records are kept.", DefaultValueFactory = _ => "30d" };

        var serve = new Command("serve", "Run the gateway (SQLite in the data directory; created on first run).")
        {
            urls, publicUrl, allowedHosts, allowedOrigins, maxRequest, maxResponse, upstreamTimeout, sessionLifetime, logRetention, decisionLog,
            decisionLogMaxBytes, decisionLogOverflow, maxStreams, maxBridged,
            metrics, otlpEndpoint, refreshMargin, clientMetadataUrl, allowLoopbackClientMetadata,
        };
        serve.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            if (!DurationParser.TryParse(parse.GetValue(upstreamTimeout), out var timeout, out var problem)
                || !DurationParser.TryParse(parse.GetValue(sessionLifetime), out var lifetime, out problem)
                || !DurationParser.TryParse(parse.GetValue(logRetention), out var retention, out problem)
                || !DurationParser.TryParse(parse.GetValue(refreshMargin), out var margin, out problem))
            {
                cli.Error.WriteLine($"error: {problem}");
                return 2;
            }

            Uri? otlpUri = null;
            if (parse.GetValue(otlpEndpoint) is { } otlp
                && (!Uri.TryCreate(otlp, UriKind.Absolute, out otlpUri) || otlpUri.Scheme is not ("http" or "https")))
            {
                cli.Error.WriteLine($"error: --otlp-endpoint must be an absolute http(s) URL, not '{otlp}'.");
                return 2;
            }

            var settings = new ServeSettings
            {
                DataDirectory = cli.DataDirectory,
                Urls = parse.GetValue(urls)!,
                DecisionRetention = retention,
                DecisionLogEnabled = parse.GetValue(decisionLog) == "on",
                DecisionQueueBytes = parse.GetValue(decisionLogMaxBytes),
                DecisionLogOverflow = parse.GetValue(decisionLogOverflow) == "fail-open"
                    ? Gatehouse.Storage.Decisions.DecisionLogOverflow.FailOpen : Gatehouse.Storage.Decisions.DecisionLogOverflow.FailClosed,
                MetricsEnabled = parse.GetValue(metrics) == "on",
                OtlpEndpoint = otlpUri,
                ConfigureUpstreamAuth = o => o.RefreshMargin = margin,
                ClientMetadataUrl = parse.GetValue(clientMetadataUrl) is { } cimd ? new Uri(cimd) : null,
                ConfigureAuthorizationServer = o => o.AllowLoopbackClientMetadata = parse.GetValue(allowLoopbackClientMetadata),
                ConfigureProxy = o =>
                {
                    o.PublicUrl = parse.GetValue(publicUrl) is { } url ? new Uri(url) : null;
                    o.MaxRequestBytes = parse.GetValue(maxRequest);
                    o.MaxResponseBytes = parse.GetValue(maxResponse);
                    o.UpstreamTimeout = timeout;
                    o.SessionLifetime = lifetime;
                    o.MaxOpenStreamsPerPrincipal = parse.GetValue(maxStreams);
                    o.MaxBridgedSessionsPerPrincipal = parse.GetValue(maxBridged);
                    foreach (var host in parse.GetValue(allowedHosts) ?? [])
                    {
                        o.AllowedHosts.Add(host);
                    }

                    foreach (var origin in parse.GetValue(allowedOrigins) ?? [])
                    {
                        o.AllowedOrigins.Add(origin);
                    }
                },
            };

            WebApplication app;
            string? adminToken;
            try
            {
                app = await GatehouseApplication.BuildAsync(settings, ct);
            }
            catch (Exception e) when (ServeStartupErrors.Describe(e, cli.Storage.DataDirectory, settings.Urls) is { } line)
            {
                await cli.Error.WriteLineAsync($"error: {line}");
                return 1;
            }

            await using var started = app;
            try
            {
                adminToken = await AdminCredentials.EnsureAsync(cli.Storage, TimeProvider.System, ct);
                await app.StartAsync(ct);
            }
            catch (Exception e) when (ServeStartupErrors.Describe(e, cli.Storage.DataDirectory, settings.Urls) is { } line)
            {
                await cli.Error.WriteLineAsync($"error: {line}");
                return 1;
            }

            var address = GatehouseApplication.ListeningAddresses(app).FirstOrDefault() ?? settings.Urls;
            var output = cli.Output;
            output.WriteLine($"Gatehouse listening on {address}");
            output.WriteLine($"  data directory: {cli.Storage.DataDirectory}");
            if (adminToken is not null)
            {
                output.WriteLine($"  admin API token (first run; also saved in {Path.Combine(cli.Storage.DataDirectory, AdminCredentials.FileName)}): {adminToken}");
            }

            output.WriteLine("  add a server:   ./gatehouse server add <name> --url <upstream MCP URL>");
            output.WriteLine("  create a grant: ./gatehouse grant create --server <name> --label <client>");
            output.WriteLine($"  clients use:    {address}/mcp/<name> with 'Authorization: Bearer <grant token>'");
            await output.FlushAsync(ct);
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return serve;
    }
}
