using Gatehouse.Core.Errors;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Forwarding;
using Gatehouse.Proxy.Policy;
using Gatehouse.Proxy.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>
/// The one POST pipeline of every transport era, after admission: read the body, read the envelope (the era's rules
/// and session opening are the caller's <c>read</c> step), decide, forward, and settle the quota charge.
/// </summary>
/// <remarks>
/// Quota release has this one home: a reservation is given back only when the request provably never left Gatehouse
/// (<see cref="ForwardResult.MayHaveReachedUpstream"/> false, and no byte of a body reached an upstream connection as
/// <see cref="ProxyExchange.RequestMayHaveReachedUpstream"/> records). A forward that ends with an exception (the client
/// went away mid-call) is judged by the same record, so a call the upstream may be running stays charged.
/// </remarks>
public sealed class PostPipeline(Admission admission, PolicyEnforcer policy, IOptions<ProxyOptions> options)
{
    /// <summary>Reads the envelope with the era's rules (and opens its session); returns the error to reject with, if any.</summary>
    public delegate (JsonRpcEnvelope? Envelope, GatewayError? Error) ReadStep(BodyBuffer body);

    /// <summary>Answers a policy refusal the way the era answers.</summary>
    public delegate Task RefuseStep(HttpContext context, JsonRpcEnvelope envelope, byte[] refusal);

    /// <summary>Forwards an allowed message and relays (or reports) the outcome.</summary>
    public delegate Task<ForwardResult> ForwardStep(JsonRpcEnvelope envelope, BodyBuffer body, PolicyEnforcer.Outcome decided);

    /// <summary>Runs the pipeline for an admitted POST.</summary>
    public async Task RunAsync(HttpContext context, AdmittedRequest admitted, ReadStep read, RefuseStep refuse, ForwardStep forward)
    {
        var server = admitted.Server.Name;
        using var body = await BodyBuffer.ReadAsync(context.Request, options.Value.MaxRequestBytes, context.RequestAborted);
        if (body is null)
        {
            await admission.RejectAsync(context, server, GatewayErrors.BodyTooLarge(options.Value.MaxRequestBytes));
            return;
        }

        var exchange = context.Features.Get<ProxyExchange>();
        var (envelope, envelopeError) = read(body);
        if (envelope is not null)
        {
            exchange?.Describe(envelope);
        }

        if (envelopeError is not null)
        {
            await admission.RejectAsync(context, server, envelopeError, envelope?.RawId);
            return;
        }

        var decided = policy.Check(admitted.Policy, admitted.Principal, envelope!, body.Memory, exchange);
        if (decided.Refusal is { } refusal)
        {
            await refuse(context, envelope!, refusal);
            return;
        }

        ForwardResult? result = null;
        try
        {
            result = await forward(envelope!, body, decided);
        }
        finally
        {
            Settle(decided, result, exchange);
        }
    }

    /// <summary>Releases the charge of a call that provably never left; keeps it for every call that may have run.</summary>
    private void Settle(PolicyEnforcer.Outcome decided, ForwardResult? result, ProxyExchange? exchange)
    {
        if (decided.Reservations is not { Count: > 0 } || result?.Kind == ForwardKind.HandedOff)
        {
            return;
        }

        if (result?.MayHaveReachedUpstream != true && exchange?.RequestMayHaveReachedUpstream != true)
        {
            policy.Release(decided.Reservations);
        }
    }
}
