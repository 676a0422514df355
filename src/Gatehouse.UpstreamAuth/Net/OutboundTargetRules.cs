using System.Net;
using System.Net.Sockets;

namespace Gatehouse.UpstreamAuth.Net;

/// <summary>The address and URL rules of <see cref="OutboundUrlPolicy"/>: which targets are public enough to fetch.</summary>
internal static class OutboundTargetRules
{
    /// <summary>Refuses a URL by its shape before anything is resolved or sent.</summary>
    /// <exception cref="OutboundUrlRefusedException">The URL is not allowed under <paramref name="policy"/>.</exception>
    public static void EnsureAllowed(Uri url, OutboundUrlPolicy policy)
    {
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            var scheme = url.IsAbsoluteUri ? url.Scheme : "(none)";
            throw new OutboundUrlRefusedException(
                OutboundUrlRefusedException.Describe(url), OutboundUrlRefusal.UnsupportedScheme, $"the scheme '{scheme}' is not http or https");
        }

        var described = OutboundUrlRefusedException.Describe(url);
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            throw new OutboundUrlRefusedException(described, OutboundUrlRefusal.Credentials, "the URL carries a user name or password");
        }

        if (policy.AdminConfiguredTarget)
        {
            return;
        }

        var loopback = false;
        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(url.DnsSafeHost, out var literal))
        {
            if (Classify(literal, policy.AllowLoopback) is { } refusal)
            {
                throw new OutboundUrlRefusedException(described, refusal.Reason, $"{literal} {refusal.Description}");
            }

            loopback = IPAddress.IsLoopback(Unwrap(literal));
        }
        else if (IsLoopbackName(url.IdnHost))
        {
            if (!policy.AllowLoopback)
            {
                throw new OutboundUrlRefusedException(described, OutboundUrlRefusal.Loopback, $"{url.IdnHost} is a loopback name");
            }

            loopback = true;
        }

        if (url.Scheme == Uri.UriSchemeHttp && !loopback)
        {
            throw new OutboundUrlRefusedException(described, OutboundUrlRefusal.HttpsRequired, "it uses plain http, which anyone on the path can read and alter");
        }
    }

    /// <summary>Refuses a host whose resolved addresses include any that <paramref name="policy"/> forbids.</summary>
    /// <remarks>
    /// A host that resolves to a public and a private address at once is refused as a whole: that mix is how DNS
    /// rebinding is staged, and no honest authorization server needs it.
    /// </remarks>
    public static void EnsureAddressesAllowed(Uri? requestUrl, string host, int port, IReadOnlyList<IPAddress> addresses, OutboundUrlPolicy policy)
    {
        if (policy.AdminConfiguredTarget)
        {
            return;
        }

        foreach (var address in addresses)
        {
            if (Classify(address, policy.AllowLoopback) is { } refusal)
            {
                var described = requestUrl is not null ? OutboundUrlRefusedException.Describe(requestUrl) : HostAndPort(host, port);
                if (IPAddress.TryParse(host, out _))
                {
                    throw new OutboundUrlRefusedException(described, refusal.Reason, $"{address} {refusal.Description}");
                }

                // The address a name resolves to stays in the log: the public message says only what kind it is.
                throw new OutboundUrlRefusedException(described, refusal.Reason,
                    $"its host {host} resolves to {address}, which {refusal.Description}",
                    $"its host {host} resolves to an address that {refusal.Description}");
            }
        }
    }

    /// <summary>Null when <paramref name="address"/> is an allowed target; else why not.</summary>
    public static (OutboundUrlRefusal Reason, string Description)? Classify(IPAddress address, bool allowLoopback)
    {
        var unwrapped = Unwrap(address);
        return unwrapped.AddressFamily == AddressFamily.InterNetwork
            ? ClassifyV4(unwrapped.GetAddressBytes(), allowLoopback)
            : ClassifyV6(unwrapped, allowLoopback);
    }

    /// <summary><c>localhost</c> and names under <c>.localhost</c>, which resolve to loopback by definition (RFC 6761).</summary>
    public static bool IsLoopbackName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
        || host.Equals("localhost.", StringComparison.OrdinalIgnoreCase);

    /// <summary>The IPv4 address embedded in an IPv6 form that reaches it (mapped, compatible, NAT64, 6to4); else the address itself.</summary>
    private static IPAddress Unwrap(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        var b = address.GetAddressBytes();
        // NAT64 well-known prefix 64:ff9b::/96.
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        // 6to4 2002:V4ADDR::/48.
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return new IPAddress(b.AsSpan(2, 4));
        }

        // Deprecated IPv4-compatible ::a.b.c.d (but not :: and ::1, which are IPv6's own).
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && (b[12] | b[13]) != 0)
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        return address;
    }

    private static (OutboundUrlRefusal, string)? ClassifyV4(byte[] b, bool allowLoopback) => b switch
    {
        [0, ..] => (OutboundUrlRefusal.Unspecified, "is in 0.0.0.0/8, the unspecified (\"this host\") range"),
        [127, ..] when !allowLoopback => (OutboundUrlRefusal.Loopback, "is a loopback address"),
        [10, ..] => (OutboundUrlRefusal.PrivateAddress, "is a private address"),
        [172, >= 16 and <= 31, ..] => (OutboundUrlRefusal.PrivateAddress, "is a private address"),
        [192, 168, ..] => (OutboundUrlRefusal.PrivateAddress, "is a private address"),
        [169, 254, ..] => (OutboundUrlRefusal.LinkLocal, "is a link-local address (where cloud metadata services answer)"),
        [100, >= 64 and <= 127, ..] => (OutboundUrlRefusal.SharedAddress, "is a carrier-grade NAT (shared) address"),
        [198, 18 or 19, ..] => (OutboundUrlRefusal.Reserved, "is in 198.18.0.0/15, reserved for network benchmarking"),
        [192, 0, 2, _] or [198, 51, 100, _] or [203, 0, 113, _] => (OutboundUrlRefusal.Reserved, "is a documentation (TEST-NET) address"),
        [255, 255, 255, 255] => (OutboundUrlRefusal.Broadcast, "is the broadcast address"),
        [>= 224 and <= 239, ..] => (OutboundUrlRefusal.Multicast, "is a multicast address"),
        [>= 240, ..] => (OutboundUrlRefusal.Reserved, "is a reserved address"),
        _ => null,
    };

    private static (OutboundUrlRefusal, string)? ClassifyV6(IPAddress address, bool allowLoopback)
    {
        if (address.Equals(IPAddress.IPv6Any))
        {
            return (OutboundUrlRefusal.Unspecified, "is the unspecified address");
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return allowLoopback ? null : (OutboundUrlRefusal.Loopback, "is a loopback address");
        }

        var b = address.GetAddressBytes();
        return b switch
        {
            // RFC 8215: NAT64 inside an operator's own network, so it reaches whatever private IPv4 space lies behind it.
            [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, ..] => (OutboundUrlRefusal.PrivateAddress, "is in 64:ff9b:1::/48, the local-use NAT64 prefix"),
            [0x20, 0x01, 0x0d, 0xb8, ..] => (OutboundUrlRefusal.Reserved, "is a documentation address (2001:db8::/32)"),
            [>= 0xfc and <= 0xfd, ..] => (OutboundUrlRefusal.PrivateAddress, "is a private (unique local) address"),
            [0xfe, >= 0x80 and <= 0xbf, ..] => (OutboundUrlRefusal.LinkLocal, "is a link-local address"),
            [0xfe, >= 0xc0, ..] => (OutboundUrlRefusal.Reserved, "is a deprecated site-local address"),
            [0xff, ..] => (OutboundUrlRefusal.Multicast, "is a multicast address"),
            _ => null,
        };
    }

    private static string HostAndPort(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
}
