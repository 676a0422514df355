namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>The outcome of a token request: a <see cref="TokenSet"/> or an <see cref="OAuthFailure"/>.</summary>
/// <remarks>Failures are values, not exceptions: the caller decides whether to retry (<see cref="OAuthFailureKind.Transient"/>) or to ask for a new authorization.</remarks>
public abstract record TokenResult
{
    private protected TokenResult()
    {
    }

    /// <summary>True for a <see cref="TokenSet"/>.</summary>
    public bool Succeeded => this is TokenSet;
}

/// <summary>Tokens issued by an authorization server.</summary>
/// <param name="AccessToken">The access token.</param>
/// <param name="TokenType">The token type as sent (always Bearer, in any case).</param>
/// <param name="ExpiresAt">When the access token expires, from <c>expires_in</c>; null when the server did not say.</param>
/// <param name="RefreshToken">A refresh token, when one was issued (never assume one is).</param>
/// <param name="RefreshTokenExpiresAt">When the refresh token expires, from <c>refresh_token_expires_in</c> or <c>refresh_expires_in</c>, when the server says.</param>
/// <param name="Scope">The granted scope, when the server says (RFC 6749 §5.1: else the requested scope was granted).</param>
/// <remarks><see cref="ToString"/> never prints the tokens.</remarks>
public sealed record TokenSet(
    string AccessToken,
    string TokenType,
    DateTimeOffset? ExpiresAt,
    string? RefreshToken,
    DateTimeOffset? RefreshTokenExpiresAt,
    string? Scope) : TokenResult
{
    /// <inheritdoc />
    public override string ToString() =>
        $"TokenSet {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt?.ToString("O") ?? "(unknown)"}, " +
        $"RefreshToken = {(RefreshToken is null ? "(none)" : "(issued)")}, Scope = {Scope ?? "(as requested)"} }}";
}

/// <summary>What a failed token request means for the caller.</summary>
public enum OAuthFailureKind
{
    /// <summary>The code or refresh token is invalid, expired or revoked (<c>invalid_grant</c>): a new authorization is needed.</summary>
    InvalidGrant,

    /// <summary>The server does not accept the client or its authentication (<c>invalid_client</c>): registration or credentials must change.</summary>
    InvalidClient,

    /// <summary>The requested scope is invalid or exceeds what was granted (<c>invalid_scope</c>).</summary>
    InvalidScope,

    /// <summary>Worth retrying with backoff: network error, timeout, HTTP 5xx or 429.</summary>
    Transient,

    /// <summary>Any other refusal (other 4xx, a malformed or non-Bearer response, a refused URL): retrying will not help.</summary>
    Rejected,
}

/// <summary>A token, refresh or revocation request that did not succeed.</summary>
/// <param name="Kind">What it means for the caller.</param>
/// <param name="Error">The server's OAuth error code, else Gatehouse's own (<c>network_error</c>, <c>timeout</c>, <c>http_503</c>, <c>invalid_response</c>, <c>unsupported_token_type</c>, <c>url_refused</c>).</param>
/// <param name="Description">The server's <c>error_description</c> (at most 200 characters), or Gatehouse's explanation.</param>
/// <param name="StatusCode">The HTTP status, when there was a response.</param>
public sealed record OAuthFailure(OAuthFailureKind Kind, string Error, string? Description, int? StatusCode) : TokenResult
{
    /// <summary>How long the server asked to wait (<c>Retry-After</c>), when it did.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The request may have reached the server and been acted on although no usable answer came back (a timeout, a
    /// connection dropped once the request was sent, a 500 or a gateway error): a single-use credential it carried (a
    /// rotating refresh token, a code) may be used up. False when the request provably was not handled: the connection
    /// was never made, or the server said so (429, 503, <c>temporarily_unavailable</c>).
    /// </summary>
    public bool MayHaveBeenProcessed { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Error}{(StatusCode is { } status ? $" (HTTP {status})" : "")}{(Description is { Length: > 0 } description ? ": " + description : "")}";
}

/// <summary>How a revocation request ended.</summary>
public enum RevocationOutcome
{
    /// <summary>The server confirmed (RFC 7009 answers 200 for unknown tokens too).</summary>
    Revoked,

    /// <summary>The authorization server advertises no <c>revocation_endpoint</c>.</summary>
    NotSupported,

    /// <summary>The request failed; see <see cref="RevocationResult.Failure"/>.</summary>
    Failed,
}

/// <summary>The outcome of a revocation request (RFC 7009).</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Failure">Why it failed, for <see cref="RevocationOutcome.Failed"/>.</param>
public sealed record RevocationResult(RevocationOutcome Outcome, OAuthFailure? Failure = null)
{
    /// <summary>The token was revoked.</summary>
    public static RevocationResult Revoked { get; } = new(RevocationOutcome.Revoked);

    /// <summary>The server offers no revocation.</summary>
    public static RevocationResult NotSupported { get; } = new(RevocationOutcome.NotSupported);

    /// <summary>True when the server confirmed the revocation.</summary>
    public bool Succeeded => Outcome == RevocationOutcome.Revoked;

    /// <summary>A short human-readable outcome: <c>revoked</c>, <c>revocation not supported by the provider</c> or <c>revocation failed (...)</c>.</summary>
    public override string ToString() => Outcome switch
    {
        RevocationOutcome.Revoked => "revoked",
        RevocationOutcome.NotSupported => "revocation not supported by the provider",
        _ => $"revocation failed ({Failure})",
    };
}
