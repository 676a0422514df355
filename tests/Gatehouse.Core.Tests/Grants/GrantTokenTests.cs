using Gatehouse.Core.Grants;

namespace Gatehouse.Core.Tests.Grants;

public sealed class GrantTokenTests
{
    [Fact]
    public void Create_MakesWellFormedPrefixedTokens_ThatDifferEachTime()
    {
        var first = GrantToken.Create();
        var second = GrantToken.Create();
        Assert.StartsWith("gth_", first, StringComparison.Ordinal);
        Assert.True(GrantToken.IsWellFormed(first));
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void IsWellFormed_RejectsAMistypedCharacter_ByChecksum()
    {
        var token = GrantToken.Create();
        var index = 10;
        var typo = token[..index] + (token[index] == 'a' ? 'b' : 'a') + token[(index + 1)..];
        Assert.False(GrantToken.IsWellFormed(typo));
        Assert.False(GrantToken.IsWellFormed("gth_short"));
        Assert.False(GrantToken.IsWellFormed("ghp_" + token[4..]));
    }

    [Fact]
    public void Hash_IsStableHexSha256_AndNeverTheToken()
    {
        var token = GrantToken.Create();
        var hash = GrantToken.Hash(token);
        Assert.Equal(64, hash.Length);
        Assert.Equal(hash, GrantToken.Hash(token));
        Assert.DoesNotContain(token[4..], hash, StringComparison.Ordinal);
    }

    [Fact]
    public void StatusAt_ReflectsRevocationAndExpiry()
    {
        var now = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        var grant = new Grant { Id = Guid.NewGuid(), Label = "x", Servers = new HashSet<string>(), TokenHash = "h", CreatedAt = now };
        Assert.Equal(GrantStatus.Active, grant.StatusAt(now));
        Assert.Equal(GrantStatus.Expired, (grant with { ExpiresAt = now }).StatusAt(now));
        Assert.Equal(GrantStatus.Revoked, (grant with { RevokedAt = now, ExpiresAt = now.AddDays(1) }).StatusAt(now));
    }
}
