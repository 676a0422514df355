using Gatehouse.Core.Grants;

namespace Gatehouse.Proxy.Authentication;

/// <summary>Who is calling: today a grant; later also users and OAuth clients.</summary>
/// <param name="Id">Stable id used to bind sessions (<c>grant:{guid}</c>).</param>
/// <param name="Label">Human label for logs.</param>
/// <param name="Grant">The grant that authenticated the request.</param>
public sealed record GatewayPrincipal(string Id, string Label, Grant Grant);

/// <summary>Receives grant usage so "last used" can be stored off the request path.</summary>
public interface IGrantUsageRecorder
{
    /// <summary>Notes that a grant was used at a time.</summary>
    void Record(Guid grantId, DateTimeOffset at);
}
