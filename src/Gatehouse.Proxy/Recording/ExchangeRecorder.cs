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

    /// <summary>Writes the decision record (for a batch, one per member, each with its own target and decision).</summary>
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

        if (exchange.Members.Count == 0)
        {
            log.Record(ToRecord(context, exchange, exchange, elapsed));
        }

        foreach (var member in exchange.Members)
        {
            log.Record(ToRecord(context, exchange, member, elapsed));
        }

        telemetry?.RecordCompleted(exchange, elapsed);
    }

    /// <summary>
    /// The record of <paramref name="call"/>, the request itself or one member of its batch: what happened to the request
    /// as a whole (its upstream status, a failure after policy) holds for each allowed member.
    /// </summary>
    private DecisionRecord ToRecord(HttpContext context, ProxyExchange request, ProxyExchange call, TimeSpan elapsed)
    {
        var allowed = call.Decision == DecisionKinds.Allow;
        return new DecisionRecord(
            time.GetUtcNow(),
            context.TraceIdentifier,
            request.Principal?.Id ?? "(anonymous)",
            request.Principal?.Label ?? "(anonymous)",
            request.Server,
            call.Method,
            call.Target,
            allowed && request.Decision == DecisionKinds.Error ? DecisionKinds.Error : call.Decision,
            call.Rule,
            call.PolicyVersion,
            call.ArgumentKeys,
            call.ArgumentValuesJson,
            request.UpstreamStatus,
            elapsed.TotalMilliseconds,
            call.ErrorCode ?? (allowed ? request.ErrorCode : null),
            call.Message ?? (allowed ? request.Message : null));
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
