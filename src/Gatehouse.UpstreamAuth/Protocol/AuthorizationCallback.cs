namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>Why an authorization response cannot be redeemed.</summary>
public enum AuthorizationCallbackFailure
{
    /// <summary>The authorization server answered with an <c>error</c> (the person declined, the request was invalid, ...).</summary>
    AuthorizationServerError,

    /// <summary>The <c>iss</c> parameter names another issuer (RFC 9207): possibly a mix-up attack.</summary>
    IssuerMismatch,

    /// <summary>The server advertises <c>iss</c> in responses, but this one has none.</summary>
    IssuerMissing,

    /// <summary>Neither a <c>code</c> nor an <c>error</c>.</summary>
    CodeMissing,
}

/// <summary>The verdict on an authorization response: the code to redeem, or why not.</summary>
/// <param name="Succeeded">True when <see cref="Code"/> may be redeemed.</param>
/// <param name="Code">The authorization code, when <see cref="Succeeded"/>.</param>
/// <param name="State">The <c>state</c> as received (looking it up is the caller's job).</param>
/// <param name="Failure">What went wrong, as a sentence fragment for messages; null when <see cref="Succeeded"/>.</param>
/// <param name="FailureKind">What went wrong, for code; null when <see cref="Succeeded"/>.</param>
/// <param name="Error">The server's <c>error</c>, when it sent one.</param>
/// <param name="ErrorDescription">The server's <c>error_description</c> (shortened), when it sent one.</param>
public sealed record AuthorizationCallbackResult(
    bool Succeeded, string? Code, string? State, string? Failure, AuthorizationCallbackFailure? FailureKind, string? Error, string? ErrorDescription);

/// <summary>Checks an authorization response at the redirect URI (OAuth 2.1 §4.1.2, RFC 9207).</summary>
public static class AuthorizationCallback
{
    /// <summary>Checks a response given as its query parameters (<c>code</c>, <c>state</c>, <c>iss</c>, <c>error</c>, <c>error_description</c>).</summary>
    /// <param name="query">The redirect's query parameters.</param>
    /// <param name="expectedIssuer">The issuer the authorization request was sent to.</param>
    /// <param name="issParameterAdvertised">Whether that server's metadata says <c>authorization_response_iss_parameter_supported</c>.</param>
    public static AuthorizationCallbackResult Validate(IReadOnlyDictionary<string, string?> query, string expectedIssuer, bool issParameterAdvertised) =>
        Validate(Get(query, "code"), Get(query, "state"), Get(query, "iss"), Get(query, "error"), Get(query, "error_description"), expectedIssuer, issParameterAdvertised);

    /// <summary>Checks a response.</summary>
    /// <param name="code">The <c>code</c> parameter.</param>
    /// <param name="state">The <c>state</c> parameter.</param>
    /// <param name="iss">The <c>iss</c> parameter.</param>
    /// <param name="error">The <c>error</c> parameter.</param>
    /// <param name="errorDescription">The <c>error_description</c> parameter.</param>
    /// <param name="expectedIssuer">The issuer the authorization request was sent to.</param>
    /// <param name="issParameterAdvertised">Whether that server's metadata says <c>authorization_response_iss_parameter_supported</c>.</param>
    /// <remarks>
    /// A present <c>iss</c> must equal the expected issuer exactly (RFC 9207 §2.4, simple string comparison), on error
    /// responses too; a missing one is refused only when the server advertises it. An error response without
    /// <c>iss</c> still reports the server's error, since it carries no code that could be misused.
    /// </remarks>
    public static AuthorizationCallbackResult Validate(
        string? code, string? state, string? iss, string? error, string? errorDescription, string expectedIssuer, bool issParameterAdvertised)
    {
        if (!string.IsNullOrEmpty(iss) && !string.Equals(iss, expectedIssuer, StringComparison.Ordinal))
        {
            return Fail(state, AuthorizationCallbackFailure.IssuerMismatch,
                $"the answer names issuer '{OAuthResponses.Clean(iss, 200)}', not '{expectedIssuer}' where the authorization started " +
                "(RFC 9207), so it may come from another authorization server and was discarded", error, errorDescription);
        }

        if (!string.IsNullOrEmpty(error))
        {
            var cleanError = OAuthResponses.Clean(error, 64);
            var cleanDescription = OAuthResponses.Clean(errorDescription);
            return Fail(state, AuthorizationCallbackFailure.AuthorizationServerError,
                $"the authorization server answered {cleanError}{(cleanDescription is null ? "" : ": " + cleanDescription)}", error, errorDescription);
        }

        if (string.IsNullOrEmpty(iss) && issParameterAdvertised)
        {
            return Fail(state, AuthorizationCallbackFailure.IssuerMissing,
                "the authorization server advertises the iss response parameter (RFC 9207), but this answer has none, so it was discarded", null, null);
        }

        if (string.IsNullOrEmpty(code))
        {
            return Fail(state, AuthorizationCallbackFailure.CodeMissing, "the answer has neither an authorization code nor an error", null, null);
        }

        return new AuthorizationCallbackResult(true, code, state, null, null, null, null);
    }

    private static AuthorizationCallbackResult Fail(
        string? state, AuthorizationCallbackFailure kind, string failure, string? error, string? errorDescription) =>
        new(false, null, state, failure, kind, OAuthResponses.Clean(error, 64), OAuthResponses.Clean(errorDescription));

    private static string? Get(IReadOnlyDictionary<string, string?> query, string name) => query.TryGetValue(name, out var value) ? value : null;
}
