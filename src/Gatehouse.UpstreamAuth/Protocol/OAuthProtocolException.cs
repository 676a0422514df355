namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>
/// An authorization server refused a request or answered in a way Gatehouse cannot use (registration, metadata).
/// The message says what happened and what to do; it carries the server's error code and description, never secrets.
/// </summary>
public sealed class OAuthProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="error">The server's OAuth error code, if it sent one.</param>
    /// <param name="errorDescription">The server's error description, if it sent one.</param>
    /// <param name="statusCode">The HTTP status of the answer, if there was one.</param>
    /// <param name="inner">The underlying failure.</param>
    public OAuthProtocolException(string message, string? error = null, string? errorDescription = null, int? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        ErrorDescription = errorDescription;
        StatusCode = statusCode;
    }

    /// <summary>The server's OAuth error code (<c>invalid_client_metadata</c>, ...), if any.</summary>
    public string? Error { get; }

    /// <summary>The server's error description, if any (shortened).</summary>
    public string? ErrorDescription { get; }

    /// <summary>The HTTP status of the answer, if there was one.</summary>
    public int? StatusCode { get; }
}

/// <summary>
/// Gatehouse could not find out how to authorize with an upstream, or what it found must not be used (a protected-resource
/// document naming another resource, authorization-server metadata with a different issuer).
/// </summary>
public sealed class DiscoveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="inner">The underlying failure.</param>
    public DiscoveryException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
