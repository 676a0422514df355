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
        if (exchange.Members.Count > 0)
        {
            foreach (var member in exchange.Members)
            {
                // What happened to the request as a whole (its upstream status, a failure after policy) holds for each member.
                log.Record(new DecisionRecord(
                    time.GetUtcNow(),
                    context.TraceIdentifier,
                    exchange.Principal?.Id ?? "(anonymous)",
                    exchange.Principal?.Label ?? "(anonymous)",
                    exchange.Server,
                    member.Method,
                    member.Target,
                    member.Decision == DecisionKinds.Allow && exchange.Decision == DecisionKinds.Error ? DecisionKinds.Error : member.Decision,
                    member.Rule,
                    member.PolicyVersion,
                    member.ArgumentKeys,
                    member.ArgumentValuesJson,
                    exchange.UpstreamStatus,
                    elapsed.TotalMilliseconds,
                    member.ErrorCode ?? (member.Decision == DecisionKinds.Allow ? exchange.ErrorCode : null),
                    member.Message ?? (member.Decision == DecisionKinds.Allow ? exchange.Message : null)));
            }

            telemetry?.RecordCompleted(exchange, elapsed);
            return;
        }

        log.Record(new DecisionRecord(
            time.GetUtcNow(),
            context.TraceIdentifier,
            exchange.Principal?.Id ?? "(anonymous)",
            exchange.Principal?.Label ?? "(anonymous)",
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
