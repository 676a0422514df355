namespace Gatehouse.Core.Errors;

/// <summary>Builds the messages of every <see cref="GatewayError"/> in one place, so wording stays consistent.</summary>
public static class GatewayErrors
{
    /// <summary>JSON-RPC: invalid request.</summary>
    public const int InvalidRequest = -32600;

    /// <summary>JSON-RPC: parse error.</summary>
    public const int ParseError = -32700;

    /// <summary>JSON-RPC: internal error.</summary>
    public const int InternalError = -32603;

    /// <summary>MCP 2026-07-28: standard header does not match the body.</summary>
    public const int HeaderMismatchCode = -32020;

    /// <summary>Gatehouse's code for authentication and authorization failures.</summary>
    public const int Unauthorized = -32001;

    /// <summary>Gatehouse's code for failures of the upstream.</summary>
    public const int UpstreamFailure = -32002;

    /// <summary>Gatehouse's code for unknown or ended sessions.</summary>
    public const int SessionGone = -32003;

    /// <summary>Gatehouse's code for calls a policy denied.</summary>
    public const int PolicyDeniedCode = -32004;

    /// <summary>Gatehouse's code for calls refused by a used-up quota.</summary>
    public const int QuotaExhaustedCode = -32005;

#pragma warning disable CS1591 // The factory names say what they build.
    public static GatewayError MissingCredential(string server) => new(GatewayErrorId.MissingCredential, 401, Unauthorized,
        $"No credential was sent. Send 'Authorization: Bearer <grant token>' with a grant for server '{server}' (create one with: gatehouse grant create --server {server} --label <name>).");

    public static GatewayError MalformedCredential() => new(GatewayErrorId.MalformedCredential, 401, Unauthorized,
        "The Authorization header is not a Gatehouse grant token ('Bearer gth_...'). Check that the whole token was copied.");

    public static GatewayError UnknownCredential() => new(GatewayErrorId.UnknownCredential, 401, Unauthorized,
        "This grant token is not known to Gatehouse: it was never issued here or was replaced by a rotation. Ask an admin for the current token.");

    public static GatewayError CredentialExpired(string label, DateTimeOffset at) => new(GatewayErrorId.CredentialExpired, 401, Unauthorized,
        $"Grant '{label}' expired at {at:yyyy-MM-ddTHH:mm:ssZ}; ask an admin for a new one.");

    public static GatewayError CredentialRevoked(string label, DateTimeOffset at) => new(GatewayErrorId.CredentialRevoked, 401, Unauthorized,
        $"Grant '{label}' was revoked at {at:yyyy-MM-ddTHH:mm:ssZ}; ask an admin for a new one.");

    public static GatewayError CredentialNotForServer(string label, string server) => new(GatewayErrorId.CredentialNotForServer, 401, Unauthorized,
        $"Grant '{label}' does not cover server '{server}'. Use a grant for '{server}', or ask an admin to create one.");

    public static GatewayError AccessTokenInvalid() => new(GatewayErrorId.AccessTokenInvalid, 401, Unauthorized,
        "The bearer token is neither a Gatehouse grant token nor a valid access token issued by this Gatehouse. Sign in again (your client will go through Gatehouse's OAuth login).");

    public static GatewayError AccessTokenExpired(DateTimeOffset at) => new(GatewayErrorId.AccessTokenExpired, 401, Unauthorized,
        $"The Gatehouse access token expired at {at:yyyy-MM-ddTHH:mm:ssZ}; refresh it or sign in again.");

    public static GatewayError UserDisabled(DateTimeOffset at) => new(GatewayErrorId.UserDisabled, 401, Unauthorized,
        $"The user this credential belongs to was disabled at {at:yyyy-MM-ddTHH:mm:ssZ}; their tokens and grants no longer work. Ask an admin if this is a mistake.");

    public static GatewayError AccessTokenRevoked() => new(GatewayErrorId.AccessTokenRevoked, 401, Unauthorized,
        "This Gatehouse access token was revoked: its approval was withdrawn, its sign-in was ended, or its refresh token was used twice. Sign in again.");

    public static GatewayError AccessTokenNotForServer(string server) => new(GatewayErrorId.AccessTokenNotForServer, 401, Unauthorized,
        $"This access token was issued for another resource, not for server '{server}'. Sign in for '{server}' (request it with resource=<gateway>/mcp/{server}).");

    public static GatewayError UnknownServer(string server) => new(GatewayErrorId.UnknownServer, 404, InvalidRequest,
        $"No server named '{server}' is registered in Gatehouse. Check the URL (/mcp/<server>); 'gatehouse server list' shows the names.");

    public static GatewayError ServerDisabled(string server) => new(GatewayErrorId.ServerDisabled, 503, UpstreamFailure,
        $"Server '{server}' is disabled in Gatehouse; ask an admin to enable it.");

    public static GatewayError ForbiddenOrigin(string origin) => new(GatewayErrorId.ForbiddenOrigin, 403, InvalidRequest,
        $"Requests from origin '{origin}' are not allowed (DNS rebinding protection). An admin can allow it with --allowed-origins.");

    public static GatewayError ForbiddenHost(string host) => new(GatewayErrorId.ForbiddenHost, 403, InvalidRequest,
        $"Host '{host}' is not served by this Gatehouse (DNS rebinding protection). Use the gateway's own address, or an admin can add it with --allowed-hosts.");

    public static GatewayError BodyTooLarge(long limit) => new(GatewayErrorId.BodyTooLarge, 413, InvalidRequest,
        $"The request body is larger than the limit of {limit} bytes. Send smaller messages, or an admin can raise --max-request-bytes.");

    public static GatewayError MalformedJson() => new(GatewayErrorId.MalformedJson, 400, ParseError,
        "The request body is not valid JSON. Send one JSON-RPC 2.0 message.");

    public static GatewayError InvalidJsonRpc(string detail) => new(GatewayErrorId.InvalidJsonRpc, 400, InvalidRequest,
        $"The request body is not a valid JSON-RPC 2.0 message: {detail}");

    public static GatewayError BatchNotAllowed(string version) => new(GatewayErrorId.BatchNotAllowed, 400, InvalidRequest,
        $"JSON-RPC batches are only allowed in protocol revision 2025-03-26, not {version}. Send one message per request.");

    public static GatewayError HeaderMismatch(string header, string detail) => new(GatewayErrorId.HeaderMismatch, 400, HeaderMismatchCode,
        $"The {header} header does not match the request body: {detail}");

    public static GatewayError InvalidProtocolVersion(string value) => new(GatewayErrorId.InvalidProtocolVersion, 400, InvalidRequest,
        $"MCP-Protocol-Version '{value}' is not a protocol revision (expected a date such as 2025-11-25).");

    public static GatewayError UnsupportedMediaType() => new(GatewayErrorId.UnsupportedMediaType, 415, InvalidRequest,
        "POST bodies must be JSON: send Content-Type: application/json.");

    public static GatewayError MethodNotAllowed(string method, string why) => new(GatewayErrorId.MethodNotAllowed, 405, InvalidRequest,
        $"{method} is not allowed here: {why}");

    public static GatewayError MissingSession() => new(GatewayErrorId.MissingSession, 400, InvalidRequest,
        "This request needs the Mcp-Session-Id header returned by initialize. Send initialize first.");

    public static GatewayError SessionNotFound() => new(GatewayErrorId.SessionNotFound, 404, SessionGone,
        "Session not found: it expired, ended, belongs to another server or credential, or was never issued. Start a new session with initialize.");

    public static GatewayError UpstreamUnreachable(string server) => new(GatewayErrorId.UpstreamUnreachable, 502, UpstreamFailure,
        $"Gatehouse could not reach the upstream of server '{server}'. The upstream may be down; try again later or ask an admin to check its URL.");

    public static GatewayError DecisionLogUnavailable() => new(GatewayErrorId.DecisionLogUnavailable, 503, InternalError,
        "Gatehouse's decision log is unavailable: its storage is not keeping up, and this gateway refuses requests it cannot record (fail closed). The request was not run; retry after the Retry-After interval. An admin can check the database, raise --decision-log-max-bytes, or choose --decision-log-overflow fail-open.");

    public static GatewayError TooManyOpenStreams(int cap) => new(GatewayErrorId.TooManyOpenStreams, 429, InvalidRequest,
        $"This credential already holds {cap} open streams on this gateway, the most it may. Close a stream you no longer read (or end its session with DELETE) and retry; an admin can raise --max-streams-per-principal.");

    public static GatewayError TooManyBridgedSessions(int cap) => new(GatewayErrorId.TooManyBridgedSessions, 429, InvalidRequest,
        $"This credential already holds {cap} sessions with HTTP+SSE upstreams on this gateway, the most it may. End a session you no longer use (DELETE, or close its stream) and retry; an admin can raise --max-bridged-sessions-per-principal.");

    public static GatewayError TooManyMessagesInFlight(int cap) => new(GatewayErrorId.TooManyMessagesInFlight, 429, InvalidRequest,
        $"This session already has {cap} messages being forwarded to its upstream, the most it may. Wait for answers on the stream before sending more.");

    public static GatewayError UpstreamTimeout(string server, TimeSpan limit) => new(GatewayErrorId.UpstreamTimeout, 504, UpstreamFailure,
        $"The upstream of server '{server}' did not answer within {limit.TotalSeconds:0} s. Try again later; an admin can raise --upstream-timeout.");

    public static GatewayError UpstreamBadResponse(string server, string detail) => new(GatewayErrorId.UpstreamBadResponse, 502, UpstreamFailure,
        $"The upstream of server '{server}' answered something that is not MCP ({detail}). Ask an admin to check the server's URL and transport.");

    public static GatewayError UpstreamRejectedCredential(string server, int status) => new(GatewayErrorId.UpstreamRejectedCredential, 502, UpstreamFailure,
        $"The upstream of server '{server}' refused Gatehouse's credential for it (HTTP {status}). This is not a problem with your grant; ask an admin to update the server's upstream credential.");

    public static GatewayError UpstreamResponseTooLarge(string server, long limit) => new(GatewayErrorId.UpstreamResponseTooLarge, 502, UpstreamFailure,
        $"The upstream of server '{server}' sent a response larger than {limit} bytes. An admin can raise --max-response-bytes.");

    public static GatewayError UpstreamSecretUnreadable(string server) => new(GatewayErrorId.UpstreamSecretUnreadable, 500, InternalError,
        $"Gatehouse cannot decrypt the stored upstream credential of server '{server}': the master key differs from the one that sealed it. Ask an admin to restore the master key or re-enter the server's headers.");

    public static GatewayError TransportUnavailable(string server, string detail) => new(GatewayErrorId.TransportUnavailable, 502, UpstreamFailure,
        $"Server '{server}' cannot be reached with this transport: {detail}");
    // Policy refusals travel as ordinary JSON-RPC errors in a 200 response, as an upstream's own refusal would, so
    // clients hand the message to the model instead of treating the transport as broken.
    public static GatewayError UpstreamNotConnected(string server, string connectHint, string? connectUrl) => new(GatewayErrorId.UpstreamNotConnected, 503, UpstreamFailure,
        $"Server '{server}' uses OAuth and has not been connected yet. {connectHint}") { ConnectUrl = connectUrl };

    public static GatewayError UpstreamNeedsReauth(string server, string connectHint, string? connectUrl) => new(GatewayErrorId.UpstreamNeedsReauth, 503, UpstreamFailure,
        $"The authorization for server '{server}' is no longer valid (the upstream refused the refresh token); someone must connect it again. {connectHint}") { ConnectUrl = connectUrl };

    public static GatewayError UpstreamUserNotConnected(string server, string connectUrl, bool reauth) => new(
        reauth ? GatewayErrorId.UpstreamNeedsReauth : GatewayErrorId.UpstreamNotConnected, 503, UpstreamFailure,
        $"Server '{server}' uses your own upstream account, and {(reauth ? "its authorization is no longer valid" : "you have not connected it yet")}. " +
        $"Open {connectUrl} in a browser signed in to Gatehouse as you, approve access there, then retry.") { ConnectUrl = connectUrl };

    public static GatewayError PerUserServerNeedsUser(string server) => new(GatewayErrorId.PerUserServerNeedsUser, 403, Unauthorized,
        $"Server '{server}' uses per-user upstream connections (each person's own account), so it needs a Gatehouse sign-in, not a grant token. " +
        "Connect with an MCP client that signs in to Gatehouse with OAuth, or ask an admin for a shared server.");

    public static GatewayError UpstreamConnectionRevoked(string server, string connectHint, string? connectUrl) => new(GatewayErrorId.UpstreamConnectionRevoked, 503, UpstreamFailure,
        $"The connection to server '{server}' was revoked. {connectHint}") { ConnectUrl = connectUrl };

    public static GatewayError UpstreamAuthorizationUnavailable(string server, string detail) => new(GatewayErrorId.UpstreamAuthorizationUnavailable, 503, UpstreamFailure,
        $"The authorization server of '{server}' is unavailable ({detail}); Gatehouse retried and gave up for now. The stored connection is kept: retry in a minute.");

    public static GatewayError UpstreamNeedsScope(string server, string scopes, string connectHint, string? connectUrl) => new(GatewayErrorId.UpstreamNeedsScope, 403, UpstreamFailure,
        $"Server '{server}' needs more permission for this call (scopes: {scopes}). The connection must be authorized again with those scopes. {connectHint}") { ConnectUrl = connectUrl };

    public static GatewayError UpstreamScopeRetryLimit(string server, string scopes, int attempts) => new(GatewayErrorId.UpstreamScopeRetryLimit, 403, UpstreamFailure,
        $"Server '{server}' still refuses this call for lack of scope ({scopes}) after {attempts} authorizations; Gatehouse stops asking. Check which scopes the upstream's authorization server can grant, then run 'gatehouse server connect {server} --scopes \"...\"'.");

    public static GatewayError DuplicateKey(string key) => new(GatewayErrorId.DuplicateKey, 400, InvalidRequest,
        $"The request repeats the key '{key}' in one object. JSON parsers disagree on which copy counts, so Gatehouse refuses it; send each key once.");

    public static GatewayError CaseVariantKey(string key, string decided) => new(GatewayErrorId.CaseVariantKey, 400, InvalidRequest,
        $"The request holds the key '{key}', which differs only by case from '{decided}'. Some servers read it as '{decided}', so Gatehouse refuses it; spell the key exactly '{decided}'.");

    public static GatewayError UnreadableTarget(string method, string field) => new(GatewayErrorId.UnreadableTarget, 400, InvalidRequest,
        $"A {method} request needs 'params.{field}' as a string, and this one has none Gatehouse can read. Send params as an object with '{field}' as a string.");

    public static GatewayError UnnormalizableResourceUri(string problem) => new(GatewayErrorId.UnnormalizableResourceUri, 200, -32602,
        $"The resource URI cannot be checked against policy: {problem}. Send the URI as an RFC 3986 URI (scheme, no spaces or control characters, percent-encoded where needed).");

    public static GatewayError UnfilterableListResult(string server, string detail) => new(GatewayErrorId.UnfilterableListResult, 200, UpstreamFailure,
        $"The upstream of server '{server}' sent a list result Gatehouse cannot filter by policy ({detail}), so it was withheld. Ask an admin to check the upstream.");
    public static GatewayError ApiBodyHostReference(string where) => new(GatewayErrorId.ApiBodyHostReference, 400, InvalidRequest,
        $"{where} contains a ${{...}} reference. The admin API never expands environment variables on the gateway's host; " +
        "send the value itself, or run 'gatehouse apply -f FILE' on your own machine, which expands ${NAME} from your environment before applying.");

    public static GatewayError ApiBodyFileReference(string where) => new(GatewayErrorId.ApiBodyFileReference, 400, InvalidRequest,
        $"{where} names a file. The admin API never reads files on the gateway's host; " +
        "run 'gatehouse apply -f FILE' (or 'gatehouse server add --private-key-file') on the machine that holds the file, which reads it there.");

    public static GatewayError PolicyDenied(string message) => new(GatewayErrorId.PolicyDenied, 200, PolicyDeniedCode, message);

    public static GatewayError QuotaExhausted(string message) => new(GatewayErrorId.QuotaExhausted, 200, QuotaExhaustedCode, message);

    public static GatewayError BatchMemberNotForwarded(int refusedMember, string refusedId) => new(GatewayErrorId.BatchMemberNotForwarded, 200, PolicyDeniedCode,
        $"Not forwarded: member {refusedMember} of this batch (id {refusedId}) was refused by policy, and Gatehouse forwards a batch whole or not at all. " +
        "Send this request again without the refused one.");

    public static GatewayError UpstreamEventTooLarge(string server, long limit) => new(GatewayErrorId.UpstreamEventTooLarge, 502, UpstreamFailure,
        $"One event of the upstream '{server}' grew past the response limit of {limit} bytes, so Gatehouse ended the stream. " +
        "Ask for less (smaller pages or results), or have an admin raise --max-response-bytes.");
#pragma warning restore CS1591
}
