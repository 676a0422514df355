using Gatehouse.Core.Grants;

namespace Gatehouse.Proxy.Authentication;

/// <summary>Who is calling: a grant, or a user signed in through an OAuth client.</summary>
/// <param name="Id">Stable id used to bind sessions (<c>grant:{guid}</c> or <c>user:{id}</c>).</param>
/// <param name="Label">Human label for logs and the decision log.</param>
/// <param name="Grant">The grant that authenticated the request; null for a Gatehouse access token.</param>
public sealed record GatewayPrincipal(string Id, string Label, Grant? Grant)
{
    /// <summary>The OAuth client the user signed in with (access tokens only).</summary>
    public string? ClientId { get; init; }

    /// <summary>The access token's id at the authorization server (access tokens only), checked against revocations.</summary>
    public string? AccessTokenId { get; init; }

    /// <summary>The Gatehouse user behind an access token; null for a grant token.</summary>
    public string? UserId => Grant is null && Id.StartsWith(UserPrefix, StringComparison.Ordinal) ? Id[UserPrefix.Length..] : null;

    /// <summary>The prefix of <see cref="Id"/> for users.</summary>
    public const string UserPrefix = "user:";
}

/// <summary>Receives grant usage so "last used" can be stored off the request path.</summary>
public interface IGrantUsageRecorder
{
    /// <summary>Notes that a grant was used at a time.</summary>
    void Record(Guid grantId, DateTimeOffset at);
}
