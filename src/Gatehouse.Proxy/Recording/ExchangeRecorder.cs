using Gatehouse.Core.Decisions;
using Gatehouse.Core.Errors;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Recording;

/// <summary>Starts a <see cref="ProxyExchange"/> for each proxied request and hands the finished record to the decision log.</summary>
/// <remarks>The log's <see cref="IDecisionLog.Record"/> only enqueues, so the request path never waits on storage.</remarks>
public sealed class ExchangeRecorder(IDecisionLog log, TimeProvider time)
{
    /// <summary>Begins recording a request.</summary>
    public ProxyExchange Begin(HttpContext context, string server)
    {
        var exchange = new ProxyExchange(server, context.Request.Method, time.GetTimestamp());
        context.Features.Set(exchange);
        return exchange;
    }

    /// <summary>Writes the decision record.</summary>
    public void Complete(HttpContext context, ProxyExchange exchange)
    {
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
            time.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds,
            exchange.ErrorCode,
            exchange.Message));
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
