namespace Gatehouse.Core.Errors;

/// <summary>
/// Messages of the errors that answer broken input and unforeseen failures, kept beside <see cref="GatewayErrors"/> so
/// the wording of each stays in one place.
/// </summary>
public static class BadInputErrors
{
#pragma warning disable CS1591 // The factory names say what they build.
    public static GatewayError InvalidServerName() => new(GatewayErrorId.UnknownServer, 404, GatewayErrors.InvalidRequest,
        "No server has this name: server names are 1-63 lower-case letters, digits and '-'. Check the URL (/mcp/<server>); 'gatehouse server list' shows the names.");

    public static GatewayError InvalidText() => new(GatewayErrorId.InvalidText, 400, GatewayErrors.ParseError,
        "The request body is not valid JSON text: a string holds invalid UTF-8 or a lone surrogate escape (such as \\uD800). Send UTF-8 encoded JSON with whole characters.");

    public static GatewayError InvalidHeaderValue(string header) => new(GatewayErrorId.InvalidHeaderValue, 400, GatewayErrors.InvalidRequest,
        $"The request header '{header}' holds a character outside printable ASCII, which cannot be passed to the upstream. Send it ASCII-only (percent-encode or base64 other text); nothing was sent upstream.");

    public static GatewayError MalformedRequest(string detail) => new(GatewayErrorId.MalformedRequest, 400, GatewayErrors.InvalidRequest,
        $"The HTTP request could not be read: {detail} Fix the client's request; nothing was forwarded.");

    public static GatewayError UnexpectedFailure(string requestId) => new(GatewayErrorId.UnexpectedFailure, 500, GatewayErrors.InternalError,
        $"Gatehouse failed on this request in a way it did not expect. Retry; if it persists, give an admin the request id '{requestId}': the gateway's log has the details.");

    public static GatewayError MasterKeyChanged() => new(GatewayErrorId.MasterKeyChanged, 503, GatewayErrors.InternalError,
        "This gateway cannot open its stored keys: the master key was changed (gatehouse keys rotate --new-master-key) while it was running. Restart the gateway with the new master key (master.key or GATEHOUSE_MASTER_KEY).");

    /// <summary>A sealed secret of <paramref name="server"/> would not open: a restart when the master key moved under this process, else GH1506.</summary>
    public static GatewayError SealedValueUnreadable(string server, System.Security.Cryptography.CryptographicException problem) =>
        problem is Security.MasterKeyChangedException ? MasterKeyChanged() : GatewayErrors.UpstreamSecretUnreadable(server);
#pragma warning restore CS1591
}
