using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json;

namespace Gatehouse.Testing;

/// <summary>
/// What a <see cref="UpstreamMode.OAuthProtected"/> upstream saw of bearer tokens: how many requests it let
/// through, how many it turned away, and whose tokens they were. Readable in process through
/// <see cref="TestUpstream.AuthStats"/> and over HTTP as JSON at <c>GET /_test/auth-stats</c>.
/// </summary>
/// <remarks>
/// Counters are per HTTP request to a protected path (<c>/mcp</c>, <c>/raw</c>), not per distinct token:
/// a gateway that reuses one token for ten calls shows ten accepted requests and one token id.
/// </remarks>
public sealed class UpstreamAuthStats
{
    private readonly ConcurrentDictionary<string, byte> _subjects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _clientIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _tokenIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _revokedTokenIds = new(StringComparer.Ordinal);
    private int _accepted;
    private int _rejected;
    private int _insufficientScope;
    private string? _lastRejection;

    /// <summary>Requests whose bearer token validated (signature, issuer, audience, lifetime), including those then refused for scope.</summary>
    public int AcceptedTokens => Volatile.Read(ref _accepted);

    /// <summary>Requests answered 401: no bearer token, or one that did not validate.</summary>
    public int RejectedTokens => Volatile.Read(ref _rejected);

    /// <summary>Requests answered 403 because a valid token lacked <see cref="UpstreamOAuthOptions.RequiredScope"/>.</summary>
    public int InsufficientScope => Volatile.Read(ref _insufficientScope);

    /// <summary>The distinct <c>sub</c> values of accepted tokens, sorted.</summary>
    public IReadOnlyList<string> Subjects => Sorted(_subjects);

    /// <summary>The distinct <c>client_id</c> values of accepted tokens, sorted.</summary>
    public IReadOnlyList<string> ClientIds => Sorted(_clientIds);

    /// <summary>How many distinct tokens (by <c>jti</c>) were accepted; grows by one per refresh a gateway performs and uses.</summary>
    public int DistinctTokenIds => _tokenIds.Count;

    /// <summary>Why the most recent 401 was given (e.g. <c>no bearer token</c>, or the validation error), or <see langword="null"/>.</summary>
    public string? LastRejection => Volatile.Read(ref _lastRejection);

    /// <summary>
    /// Makes the upstream refuse (401 <c>invalid_token</c>) every token it has accepted so far, as an upstream does after
    /// revoking them; a token it has not seen yet (a gateway's refresh) is accepted. A test triggers a gateway's reactive
    /// refresh this way, on a signal rather than by waiting for a token to expire.
    /// </summary>
    public void RevokeAcceptedTokens()
    {
        foreach (var id in _tokenIds.Keys)
        {
            _revokedTokenIds.TryAdd(id, 0);
        }
    }

    /// <summary>Whether <paramref name="user"/>'s token was revoked by <see cref="RevokeAcceptedTokens"/>.</summary>
    internal bool IsRevoked(ClaimsPrincipal user) => user.FindFirst("jti")?.Value is { } id && _revokedTokenIds.ContainsKey(id);

    /// <summary>Forgets everything counted so far.</summary>
    public void Reset()
    {
        _subjects.Clear();
        _clientIds.Clear();
        _tokenIds.Clear();
        Interlocked.Exchange(ref _accepted, 0);
        Interlocked.Exchange(ref _rejected, 0);
        Interlocked.Exchange(ref _insufficientScope, 0);
        Volatile.Write(ref _lastRejection, null);
    }

    /// <summary>The <c>GET /_test/auth-stats</c> document.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["acceptedTokens"] = AcceptedTokens,
        ["rejectedTokens"] = RejectedTokens,
        ["insufficientScope"] = InsufficientScope,
        ["subjects"] = Subjects,
        ["clientIds"] = ClientIds,
        ["distinctTokenIds"] = DistinctTokenIds,
        ["lastRejection"] = LastRejection,
    });

    internal void OnAccepted(ClaimsPrincipal user)
    {
        Add(_subjects, user.FindFirst("sub")?.Value);
        Add(_clientIds, user.FindFirst("client_id")?.Value);
        Add(_tokenIds, user.FindFirst("jti")?.Value);
        Interlocked.Increment(ref _accepted);
    }

    internal void OnRejected(string reason)
    {
        Volatile.Write(ref _lastRejection, reason);
        Interlocked.Increment(ref _rejected);
    }

    internal void OnInsufficientScope() => Interlocked.Increment(ref _insufficientScope);

    private static void Add(ConcurrentDictionary<string, byte> set, string? value)
    {
        if (value is not null)
        {
            set.TryAdd(value, 0);
        }
    }

    private static string[] Sorted(ConcurrentDictionary<string, byte> set)
    {
        var values = set.Keys.ToArray();
        Array.Sort(values, StringComparer.Ordinal);
        return values;
    }
}
