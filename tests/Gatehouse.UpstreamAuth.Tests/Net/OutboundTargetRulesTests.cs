using System.Net;
using Gatehouse.UpstreamAuth.Net;

namespace Gatehouse.UpstreamAuth.Tests.Net;

public sealed class OutboundTargetRulesTests
{
    [Theory]
    [InlineData("https://169.254.169.254/latest/meta-data", OutboundUrlRefusal.LinkLocal)]
    [InlineData("https://10.0.0.1/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://172.16.0.1/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://172.31.255.254/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://192.168.1.1/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://100.64.0.1/", OutboundUrlRefusal.SharedAddress)]
    [InlineData("https://0.0.0.0/", OutboundUrlRefusal.Unspecified)]
    [InlineData("https://224.0.0.1/", OutboundUrlRefusal.Multicast)]
    [InlineData("https://255.255.255.255/", OutboundUrlRefusal.Broadcast)]
    [InlineData("https://240.0.0.1/", OutboundUrlRefusal.Reserved)]
    [InlineData("https://[fe80::1]/", OutboundUrlRefusal.LinkLocal)]
    [InlineData("https://[fc00::1]/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://[fd12:3456::1]/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://[ff02::1]/", OutboundUrlRefusal.Multicast)]
    [InlineData("https://[::]/", OutboundUrlRefusal.Unspecified)]
    [InlineData("https://[::ffff:10.0.0.1]/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://[::ffff:169.254.169.254]/", OutboundUrlRefusal.LinkLocal)]
    [InlineData("https://[64:ff9b::a9fe:a9fe]/", OutboundUrlRefusal.LinkLocal)]
    [InlineData("https://[2002:c0a8:0101::1]/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://198.18.0.1/", OutboundUrlRefusal.Reserved)]
    [InlineData("https://198.19.255.254/", OutboundUrlRefusal.Reserved)]
    [InlineData("https://[::ffff:198.18.7.7]/", OutboundUrlRefusal.Reserved)]
    [InlineData("https://[64:ff9b:1::a00:1]/", OutboundUrlRefusal.PrivateAddress)]
    [InlineData("https://[64:ff9b:1:ffff::8.8.8.8]/", OutboundUrlRefusal.PrivateAddress)]
    public void EnsureAllowed_NonPublicAddress_IsRefusedEvenWithLoopbackAllowed(string url, OutboundUrlRefusal reason)
    {
        var ex = Assert.Throws<OutboundUrlRefusedException>(() => OutboundTargetRules.EnsureAllowed(new Uri(url), OutboundUrlPolicy.WithLoopback));
        Assert.Equal(reason, ex.Reason);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://127.8.9.10/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://[::1]/x", OutboundUrlRefusal.Loopback)]
    [InlineData("http://localhost/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://LOCALHOST/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://auth.localhost/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://[::ffff:127.0.0.1]/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://2130706433/x", OutboundUrlRefusal.Loopback)]
    [InlineData("https://0x7f.1/x", OutboundUrlRefusal.Loopback)]
    public void EnsureAllowed_Loopback_IsRefusedUnlessAllowed(string url, OutboundUrlRefusal reason)
    {
        var ex = Assert.Throws<OutboundUrlRefusedException>(() => OutboundTargetRules.EnsureAllowed(new Uri(url), OutboundUrlPolicy.PublicOnly));
        Assert.Equal(reason, ex.Reason);
        Assert.Contains("allow-loopback", ex.Message, StringComparison.Ordinal);

        OutboundTargetRules.EnsureAllowed(new Uri(url), OutboundUrlPolicy.WithLoopback);
    }

    [Theory]
    [InlineData("http://example.com/", OutboundUrlRefusal.HttpsRequired)]
    [InlineData("http://93.184.216.34/", OutboundUrlRefusal.HttpsRequired)]
    [InlineData("ftp://example.com/", OutboundUrlRefusal.UnsupportedScheme)]
    [InlineData("file:///etc/passwd", OutboundUrlRefusal.UnsupportedScheme)]
    [InlineData("https://user:hunter2@example.com/", OutboundUrlRefusal.Credentials)]
    public void EnsureAllowed_SchemeAndCredentials_AreCheckedWhateverThePolicy(string url, OutboundUrlRefusal reason)
    {
        var ex = Assert.Throws<OutboundUrlRefusedException>(() => OutboundTargetRules.EnsureAllowed(new Uri(url), OutboundUrlPolicy.WithLoopback));
        Assert.Equal(reason, ex.Reason);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://example.com/.well-known/oauth-authorization-server")]
    [InlineData("https://93.184.216.34/")]
    [InlineData("https://[2606:4700::1111]/")]
    [InlineData("https://172.32.0.1/")]
    [InlineData("https://100.128.0.1/")]
    [InlineData("https://198.17.255.254/")]
    [InlineData("https://198.20.0.1/")]
    [InlineData("https://[64:ff9b:2::1]/")]
    public void EnsureAllowed_PublicHttps_IsAllowed(string url) =>
        OutboundTargetRules.EnsureAllowed(new Uri(url), OutboundUrlPolicy.PublicOnly);

    [Fact]
    public void RefusalMessage_NamesUrlWithoutQueryAndSaysWhatToDo()
    {
        var ex = Assert.Throws<OutboundUrlRefusedException>(() =>
            OutboundTargetRules.EnsureAllowed(new Uri("https://10.0.0.5/token?code=secret-code#frag"), OutboundUrlPolicy.PublicOnly));

        Assert.Equal("https://10.0.0.5/token", ex.Url);
        Assert.Equal(
            "Gatehouse refused to contact https://10.0.0.5/token: 10.0.0.5 is a private address. Gatehouse only fetches authorization metadata " +
            "and endpoints from public HTTPS addresses; for a loopback test setup enable allow-loopback on the server.",
            ex.Message);
        Assert.DoesNotContain("secret-code", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolvedAddresses_AnyNonPublicOne_RefusesTheHost()
    {
        IPAddress[] addresses = [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("10.1.2.3")];

        var ex = Assert.Throws<OutboundUrlRefusedException>(() =>
            OutboundTargetRules.EnsureAddressesAllowed(new Uri("https://rebind.example/x?y=1"), "rebind.example", 443, addresses, OutboundUrlPolicy.PublicOnly));

        Assert.Equal(OutboundUrlRefusal.PrivateAddress, ex.Reason);
        Assert.Contains("its host rebind.example resolves to 10.1.2.3", ex.Message, StringComparison.Ordinal);
        Assert.Equal("https://rebind.example/x", ex.Url);

        // What an unauthenticated caller may be shown: the reason, not the address inside the gateway's network.
        Assert.Contains("its host rebind.example resolves to an address that is a private address", ex.PublicMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("10.1.2.3", ex.PublicMessage, StringComparison.Ordinal);
        Assert.StartsWith("Gatehouse refused to contact https://rebind.example/x: ", ex.PublicMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PublicMessage_OfARefusalByTheUrlItself_IsTheMessage()
    {
        var ex = Assert.Throws<OutboundUrlRefusedException>(() =>
            OutboundTargetRules.EnsureAllowed(new Uri("https://10.0.0.5/token"), OutboundUrlPolicy.PublicOnly));
        Assert.Equal(ex.Message, ex.PublicMessage);
    }
}
