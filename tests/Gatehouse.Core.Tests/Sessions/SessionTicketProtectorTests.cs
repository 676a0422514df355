using System.Security.Cryptography;
using Gatehouse.Core.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Sessions;

public sealed class SessionTicketProtectorTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void IssueThenOpen_RoundTripsEveryField_OnAnyReplicaWithTheSameKey()
    {
        var serverId = Guid.NewGuid();
        var id = new SessionTicketProtector(_key, _time, TimeSpan.FromHours(1)).Issue(SessionKind.StreamableHttp, serverId, "grant:abc", "upstream-session-ü");
        var otherReplica = new SessionTicketProtector(_key, _time, TimeSpan.FromHours(1));

        Assert.True(otherReplica.TryOpen(id, out var ticket));
        Assert.Equal(SessionKind.StreamableHttp, ticket.Kind);
        Assert.Equal(serverId, ticket.ServerId);
        Assert.Equal("grant:abc", ticket.PrincipalId);
        Assert.Equal("upstream-session-ü", ticket.Upstream);
        Assert.All(id, c => Assert.InRange(c, '!', '~'));
        Assert.DoesNotContain("upstream-session", id, StringComparison.Ordinal);
    }

    [Fact]
    public void TryOpen_RefusesTamperedForeignAndExpiredTickets()
    {
        var protector = new SessionTicketProtector(_key, _time, TimeSpan.FromHours(1));
        var id = protector.Issue(SessionKind.StreamableHttp, Guid.NewGuid(), "grant:abc", "s");

        var tampered = (id[5] == 'A' ? "B" : "A") is var c ? id[..5] + c + id[6..] : id;
        Assert.False(protector.TryOpen(tampered, out _));
        Assert.False(new SessionTicketProtector(RandomNumberGenerator.GetBytes(32), _time, TimeSpan.FromHours(1)).TryOpen(id, out _));
        Assert.False(protector.TryOpen("not base64 !!", out _));
        Assert.False(protector.TryOpen("", out _));

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.False(protector.TryOpen(id, out _));
    }
}
