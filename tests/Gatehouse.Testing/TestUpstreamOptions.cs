namespace Gatehouse.Testing;

/// <summary>
/// Optional knobs for <see cref="TestUpstream.StartAsync(UpstreamMode, TestUpstreamOptions?, CancellationToken)"/>.
/// </summary>
public sealed record TestUpstreamOptions
{
    /// <summary>
    /// When set, every request that does not carry this header with exactly this value is answered with
    /// 401 before it reaches MCP; the request is still recorded so tests can see what arrived.
    /// </summary>
    public (string Name, string Value)? RequiredHeader { get; init; }

    /// <summary>The clock the tools' simulated work (slow calls, spaced notifications) runs on; tests may pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The loopback port to bind; 0 (the default) lets the OS pick a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Whether to reject requests whose <c>Host</c> or <c>Origin</c> is not localhost with 403 (DNS-rebinding
    /// protection). <see langword="null"/> means the mode's default: on for <see cref="UpstreamMode.Conformance"/>,
    /// off elsewhere so gateways that rewrite <c>Host</c> are not tripped up by accident.
    /// </summary>
    public bool? RejectNonLocalhostOrigins { get; init; }

    /// <summary>
    /// Whether to keep <see cref="TestUpstream.Requests"/>. Long benchmark runs turn this off so memory stays flat.
    /// </summary>
    public bool RecordRequests { get; init; } = true;

    /// <summary>
    /// Largest request body kept in <see cref="RecordedRequest.Body"/>; longer bodies are recorded truncated.
    /// </summary>
    public int MaxRecordedBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// The token checks of <see cref="UpstreamMode.OAuthProtected"/>, which requires them; other modes ignore them.
    /// </summary>
    public UpstreamOAuthOptions? OAuth { get; init; }
}
