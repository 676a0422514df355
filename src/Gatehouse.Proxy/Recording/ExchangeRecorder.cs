using Gatehouse.Core.Decisions;
using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Telemetry;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Recording;

/// <summary>Starts a <see cref="ProxyExchange"/> for each proxied request and hands the finished record to the decision log.</summary>
/// <remarks>
/// The log's <see cref="IDecisionLog.Record"/> only enqueues, so the request path never waits on storage. This is also
/// where every proxied request ends, so its metrics and trace activity are recorded here (when the host registered a
/// <see cref="GatehouseTelemetry"/>).
/// </remarks>
public sealed class ExchangeRecorder(IDecisionLog log, TimeProvider time, GatehouseTelemetry? telemetry = null)
{
    /// <summary>Begins recording a request.</summary>
    public ProxyExchange Begin(HttpContext context, string server)
    {
        var exchange = new ProxyExchange(server, context.Request.Method, time.GetTimestamp());
        context.Features.Set(exchange);
        exchange.Activity = telemetry?.StartProxyActivity(context.Request);
        return exchange;
    }

    /// <summary>Writes the decision record.</summary>
    public void Complete(HttpContext context, ProxyExchange exchange)
    {
        var elapsed = time.GetElapsedTime(exchange.StartTimestamp);
        if (exchange.Principal is null)
        {
            // Nobody was authenticated (a missing or bad credential, a foreign Origin): a record per such request would let
            // anyone grow the database without bound, so they are only counted, by error code (a fixed set).
            telemetry?.UnauthenticatedRejections.Add(1, new KeyValuePair<string, object?>("code", exchange.ErrorCode ?? "(none)"));
            telemetry?.RecordCompleted(exchange, elapsed);
            return;
        }

        log.Record(new DecisionRecord(
            time.GetUtcNow(),
            context.TraceIdentifier,
            exchange.Principal.Id,
            exchange.Principal.Label,
            exchange.Server,
            exchange.Method,
            exchange.Target,
            exchange.Decision,
            exchange.Rule,
            exchange.PolicyVersion,
            exchange.ArgumentKeys,
            exchange.ArgumentValuesJson,
            exchange.UpstreamStatus,
            elapsed.TotalMilliseconds,
            exchange.ErrorCode,
            exchange.Message));
        telemetry?.RecordCompleted(exchange, elapsed);
    }

    /// <summary>Notes a refusal or failure on the request's exchange (a policy denial keeps its own decision).</summary>
    public static void NoteError(HttpContext context, GatewayError error)
    {
        if (context.Features.Get<ProxyExchange>() is not { } exchange)
        {
            return;
        }

        if (exchange.Decision == DecisionKinds.Allow)
        {
            exchange.Decision = DecisionKinds.Error;
        }

        exchange.ErrorCode = error.Code;
        exchange.Message = error.Message;
    }
}
