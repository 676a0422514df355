namespace Gatehouse.Core.Configuration;

/// <summary>What the request path needs to know of a person to choose their policies.</summary>
/// <param name="Id">The user's id (the <c>sub</c> of their access tokens, the owner of their grants).</param>
/// <param name="Groups">Their identity-provider groups, as of their last sign-in.</param>
/// <param name="PolicyName">The policy attached to the user, if any.</param>
public sealed record GatewayUser(Guid Id, IReadOnlyList<string> Groups, string? PolicyName);
