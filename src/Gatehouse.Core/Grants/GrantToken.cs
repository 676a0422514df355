using Gatehouse.Core.Security;

namespace Gatehouse.Core.Grants;

/// <summary>Grant tokens: <see cref="SecretToken"/>s with the prefix <c>gth_</c>, which secret scanners can look for.</summary>
public static class GrantToken
{
    /// <summary>The prefix every grant token starts with.</summary>
    public const string Prefix = "gth_";

    /// <summary>Creates a new grant token.</summary>
    public static string Create() => SecretToken.Create(Prefix);

    /// <summary>True when the string has the shape and checksum of a grant token.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token) => SecretToken.IsWellFormed(token, Prefix);

    /// <summary>The stored hash of a token.</summary>
    public static string Hash(ReadOnlySpan<char> token) => SecretToken.Hash(token);
}
