using System.Diagnostics;
using Gatehouse.Core.Decisions;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Envelope;

namespace Gatehouse.Proxy.Recording;

/// <summary>What the decision log needs to know about one request, filled in by each step as it learns it.</summary>
/// <remarks>Lives in the request's features; <see cref="ExchangeRecorder"/> turns it into a <see cref="DecisionRecord"/> at the end.</remarks>
public sealed class ProxyExchange(string server, string method, long startTimestamp)
{
    /// <summary>The server addressed.</summary>
    public string Server { get; } = server;

    /// <summary>When the request started (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>JSON-RPC method, or the HTTP method for streams and session ends.</summary>
    public string Method { get; set; } = method;

    /// <summary>Who called, once authenticated.</summary>
    public GatewayPrincipal? Principal { get; set; }

    /// <summary>Tool name, resource URI or prompt name.</summary>
    public string? Target { get; set; }

    /// <summary>allow, deny, hide or error.</summary>
    public string Decision { get; set; } = DecisionKinds.Allow;

    /// <summary>The policy rule that decided, as a JSON pointer or a parenthesised form.</summary>
    public string? Rule { get; set; }

    /// <summary>Which policy versions decided.</summary>
    public string? PolicyVersion { get; set; }

    /// <summary>Top-level argument keys.</summary>
    public IReadOnlyList<string> ArgumentKeys { get; set; } = [];

    /// <summary>Argument values, only when a policy opted the tool in.</summary>
    public string? ArgumentValuesJson { get; set; }

    /// <summary>The upstream's HTTP status, when the request reached it.</summary>
    public int? UpstreamStatus { get; set; }

    /// <summary>
    /// True once a byte of the request's body may have been written to an upstream connection (set by the forwarder).
    /// Quota charges are released only while it is false: the call provably never left Gatehouse.
    /// </summary>
    public bool RequestMayHaveReachedUpstream { get; set; }

    /// <summary>How long the upstream took to answer with headers, when the forwarder was given this exchange.</summary>
    public TimeSpan? UpstreamDuration { get; set; }

    /// <summary>The request's trace activity, only while something listens to <c>Gatehouse</c> traces.</summary>
    public Activity? Activity { get; set; }

    /// <summary>The Gatehouse error code, when the request was refused or failed.</summary>
    public string? ErrorCode { get; set; }

    /// <summary>The message the client was given with a refusal.</summary>
    public string? Message { get; set; }

    /// <summary>For a batch, one exchange per member, each with its own target and decision (one decision-log record each).</summary>
    public IReadOnlyList<ProxyExchange> Members { get; private set; } = [];

    /// <summary>Takes method, target and argument keys from the envelope (and from each member of a batch).</summary>
    public void Describe(JsonRpcEnvelope envelope)
    {
        Method = envelope.IsBatch ? "(batch)" : envelope.Method ?? "(response)";
        Target = envelope.IsBatch ? null : envelope.Name;
        ArgumentKeys = envelope.IsBatch ? [] : envelope.ArgumentKeys;
        if (envelope.IsBatch)
        {
            var members = new ProxyExchange[envelope.Members.Count];
            for (var i = 0; i < members.Length; i++)
            {
                members[i] = new ProxyExchange(Server, Method, StartTimestamp);
                members[i].Describe(envelope.Members[i]);
            }

            Members = members;
        }
    }
}
