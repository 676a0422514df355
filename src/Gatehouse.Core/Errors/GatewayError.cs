namespace Gatehouse.Core.Errors;

/// <summary>A rejection or failure Gatehouse reports to a client: a value, never an exception.</summary>
/// <param name="Id">Stable identity; never reused (documented in docs/errors.md).</param>
/// <param name="HttpStatus">HTTP status of the response.</param>
/// <param name="JsonRpcCode">JSON-RPC error code carried in the body.</param>
/// <param name="Message">What happened and what to do; never contains a secret or an argument value.</param>
public sealed record GatewayError(GatewayErrorId Id, int HttpStatus, int JsonRpcCode, string Message)
{
    /// <summary>The code as shown to users, e.g. <c>GH1003</c>.</summary>
    public string Code => $"GH{(int)Id}";

    /// <summary>An absolute URL where a person can fix the problem (connect an upstream account), sent as <c>data.connectUrl</c>.</summary>
    public string? ConnectUrl { get; init; }
}

/// <summary>Every error Gatehouse can return. Numbers are stable and never reused.</summary>
public enum GatewayErrorId
{
    /// <summary>No Authorization header.</summary>
    MissingCredential = 1001,

    /// <summary>The Authorization header is not a well-formed bearer grant token.</summary>
    MalformedCredential = 1002,

    /// <summary>The token is not known (never issued, or replaced by a rotation).</summary>
    UnknownCredential = 1003,

    /// <summary>The grant is past its expiry.</summary>
    CredentialExpired = 1004,

    /// <summary>The grant was revoked.</summary>
    CredentialRevoked = 1005,

    /// <summary>The grant does not cover this server.</summary>
    CredentialNotForServer = 1006,

    /// <summary>The bearer is not a valid Gatehouse access token (signature, issuer or type).</summary>
    AccessTokenInvalid = 1007,

    /// <summary>The Gatehouse access token is past its expiry.</summary>
    AccessTokenExpired = 1008,

    /// <summary>The Gatehouse access token was issued for another server (its audience is another resource).</summary>
    AccessTokenNotForServer = 1009,

    /// <summary>The credential belongs to a user who was disabled (offboarded).</summary>
    UserDisabled = 1010,

    /// <summary>The Gatehouse access token was revoked (approval withdrawn, refresh token replayed, or revoked by its client).</summary>
    AccessTokenRevoked = 1011,

    /// <summary>No server has this name.</summary>
    UnknownServer = 1101,

    /// <summary>The server is disabled.</summary>
    ServerDisabled = 1102,

    /// <summary>The Origin header names a site that may not call Gatehouse (DNS rebinding guard).</summary>
    ForbiddenOrigin = 1201,

    /// <summary>The Host header names a host Gatehouse does not serve (DNS rebinding guard).</summary>
    ForbiddenHost = 1202,

    /// <summary>The request body exceeds the size limit.</summary>
    BodyTooLarge = 1301,

    /// <summary>The body is not valid JSON.</summary>
    MalformedJson = 1302,

    /// <summary>The body is JSON but not a JSON-RPC message.</summary>
    InvalidJsonRpc = 1303,

    /// <summary>A JSON-RPC batch in a protocol revision that does not allow batches.</summary>
    BatchNotAllowed = 1304,

    /// <summary>Mcp-Method or Mcp-Name disagree with the body (2026-07-28).</summary>
    HeaderMismatch = 1305,

    /// <summary>The MCP-Protocol-Version header is not a protocol revision.</summary>
    InvalidProtocolVersion = 1306,

    /// <summary>The request needs a Content-Type of application/json.</summary>
    UnsupportedMediaType = 1307,

    /// <summary>The HTTP method is not served on this endpoint for this protocol revision.</summary>
    MethodNotAllowed = 1308,

    /// <summary>An object of the request repeats a key, which JSON parsers resolve differently (envelope hardening).</summary>
    DuplicateKey = 1310,

    /// <summary>A key differs only by case from one Gatehouse decides on, which some upstreams would read as that key.</summary>
    CaseVariantKey = 1311,

    /// <summary>A tools/call, resources/read or prompts/get whose target (string name or uri) cannot be read.</summary>
    UnreadableTarget = 1312,

    /// <summary>A resource URI that cannot be brought to the normal form policy compares.</summary>
    UnnormalizableResourceUri = 1313,
    /// <summary>A JSON string in the body is not valid text: invalid UTF-8 or a lone UTF-16 surrogate escape.</summary>
    InvalidText = 1330,

    /// <summary>A request header carries a value that cannot be sent on (a character outside printable ASCII).</summary>
    InvalidHeaderValue = 1331,

    /// <summary>The HTTP request itself is broken (bad chunked framing, a body cut short, too many form fields).</summary>
    MalformedRequest = 1332,

    /// <summary>A request of a batch that was not forwarded because policy refused another member of the batch.</summary>
    BatchMemberNotForwarded = 1340,

    /// <summary>One SSE event from the upstream grew past the response size limit; the stream was ended.</summary>
    UpstreamEventTooLarge = 1341,

    /// <summary>A session-scoped request came without Mcp-Session-Id.</summary>
    MissingSession = 1401,

    /// <summary>The session id is unknown, expired, for another server, or belongs to another principal.</summary>
    SessionNotFound = 1402,

    /// <summary>The upstream could not be reached.</summary>
    UpstreamUnreachable = 1501,

    /// <summary>The upstream did not answer in time.</summary>
    UpstreamTimeout = 1502,

    /// <summary>The upstream answered something that is not MCP.</summary>
    UpstreamBadResponse = 1503,

    /// <summary>The upstream refused Gatehouse's credential for it.</summary>
    UpstreamRejectedCredential = 1504,

    /// <summary>The upstream's answer exceeds the size limit.</summary>
    UpstreamResponseTooLarge = 1505,

    /// <summary>A stored upstream secret could not be decrypted (wrong master key).</summary>
    UpstreamSecretUnreadable = 1506,

    /// <summary>The upstream speaks a transport this client's era cannot be bridged to on this replica.</summary>
    TransportUnavailable = 1507,

    /// <summary>A policy rule denied the call.</summary>
    PolicyDenied = 1601,

    /// <summary>A policy quota is used up until its window resets.</summary>
    QuotaExhausted = 1602,

    /// <summary>A list result the policy filter cannot read (too deep, or not the shape its method returns) was withheld.</summary>
    UnfilterableListResult = 1610,

    /// <summary>The server uses OAuth and no one has connected it yet.</summary>
    UpstreamNotConnected = 1701,

    /// <summary>The upstream authorization server refused the stored grant (<c>invalid_grant</c>): connect again.</summary>
    UpstreamNeedsReauth = 1702,

    /// <summary>The upstream authorization server could not be reached or failed, after bounded retries.</summary>
    UpstreamAuthorizationUnavailable = 1703,

    /// <summary>The upstream needs more scope than the connection holds (403 insufficient_scope): connect again.</summary>
    UpstreamNeedsScope = 1704,

    /// <summary>Step-up authorization was tried the maximum number of times and the upstream still refuses.</summary>
    UpstreamScopeRetryLimit = 1705,

    /// <summary>The connection was revoked (disconnect or offboarding).</summary>
    UpstreamConnectionRevoked = 1706,

    /// <summary>A per-user server was called with a credential that names no Gatehouse user (a grant token).</summary>
    PerUserServerNeedsUser = 1707,

    /// <summary>
    /// Connect page: the upstream callback (or a connect link) came from another browser than the one that started the
    /// flow; nothing was stored.
    /// </summary>
    ConnectFlowOtherBrowser = 1710,

    /// <summary>Connect page: a per-user flow's callback came from a browser signed in as another Gatehouse user; nothing was stored.</summary>
    ConnectFlowOtherUser = 1711,

    /// <summary>The decision log cannot keep up and the gateway fails closed: the request was not run.</summary>
    DecisionLogUnavailable = 1800,

    /// <summary>The principal holds as many open GET streams as it may.</summary>
    TooManyOpenStreams = 1801,

    /// <summary>The principal holds as many sessions bridged to HTTP+SSE upstreams as it may.</summary>
    TooManyBridgedSessions = 1802,

    /// <summary>A bridged HTTP+SSE session has as many messages being forwarded as it may.</summary>
    TooManyMessagesInFlight = 1803,

    /// <summary>An admin API body contains a <c>${...}</c> reference, which only the CLI expands, on the operator's machine.</summary>
    ApiBodyHostReference = 1900,

    /// <summary>An admin API body names a file (such as <c>private-key-file</c>), which only the CLI reads, on the operator's machine.</summary>
    ApiBodyFileReference = 1901,

    /// <summary>Gatehouse failed on this request in a way it did not foresee; the log has the details (never a stack trace in the answer).</summary>
    UnexpectedFailure = 1950,

    /// <summary>The gateway's master key no longer opens its own keys (the master key was rotated while it ran): restart it.</summary>
    MasterKeyChanged = 1951,
}
