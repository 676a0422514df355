using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Core.Sessions;

/// <summary>Seals <see cref="SessionTicket"/>s into opaque, URL-safe session ids and opens them again.</summary>
/// <remarks>
/// The key is derived once from the master key (never per request). Layout before sealing:
/// version (1) | kind (1) | issued-at unix ms (8) | server id (16) | principal length (2) | principal | upstream.
/// Sealed: nonce (12) | ciphertext | tag (16), base64url-encoded, which is visible ASCII as Mcp-Session-Id requires.
/// </remarks>
public sealed class SessionTicketProtector
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + 1 + 8 + 16 + 2;
    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    /// <summary>Creates a protector.</summary>
    /// <param name="key">A 256-bit key reserved for session tickets.</param>
    /// <param name="time">The clock used to stamp and check tickets.</param>
    /// <param name="lifetime">How long a ticket stays valid after it was issued.</param>
    public SessionTicketProtector(ReadOnlySpan<byte> key, TimeProvider time, TimeSpan lifetime)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("Session ticket keys are 256-bit.", nameof(key));
        }

        _key = key.ToArray();
        _time = time;
        _lifetime = lifetime;
    }

    /// <summary>Issues a ticket stamped now.</summary>
    public string Issue(SessionKind kind, Guid serverId, string principalId, string upstream) =>
        Protect(new SessionTicket(kind, serverId, principalId, upstream, _time.GetUtcNow()));

    /// <summary>Seals a ticket.</summary>
    public string Protect(SessionTicket ticket)
    {
        var principal = Encoding.UTF8.GetBytes(ticket.PrincipalId);
        var upstream = Encoding.UTF8.GetBytes(ticket.Upstream);
        var plain = new byte[HeaderSize + principal.Length + upstream.Length];
        plain[0] = Version;
        plain[1] = (byte)ticket.Kind;
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(2), ticket.IssuedAt.ToUnixTimeMilliseconds());
        ticket.ServerId.TryWriteBytes(plain.AsSpan(10, 16));
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(26), checked((ushort)principal.Length));
        principal.CopyTo(plain, HeaderSize);
        upstream.CopyTo(plain, HeaderSize + principal.Length);

        var sealedBytes = new byte[NonceSize + plain.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize, plain.Length), sealedBytes.AsSpan(NonceSize + plain.Length));
        return Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>Opens a session id; false when it is forged, corrupted or expired.</summary>
    public bool TryOpen(string? sessionId, out SessionTicket ticket)
    {
        ticket = null!;
        if (string.IsNullOrEmpty(sessionId) || sessionId.Length > 4096)
        {
            return false;
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(sessionId);
        }
        catch (FormatException)
        {
            return false;
        }

        if (sealedBytes.Length < NonceSize + HeaderSize + TagSize)
        {
            return false;
        }

        var plainLength = sealedBytes.Length - NonceSize - TagSize;
        var plain = new byte[plainLength];
        try
        {
            using var aes = new AesGcm(_key, TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, plainLength), sealedBytes.AsSpan(NonceSize + plainLength), plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }

        if (plain[0] != Version || !Enum.IsDefined((SessionKind)plain[1]))
        {
            return false;
        }

        var issuedAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(2)));
        var principalLength = BinaryPrimitives.ReadUInt16BigEndian(plain.AsSpan(26));
        if (HeaderSize + principalLength > plain.Length || _time.GetUtcNow() - issuedAt > _lifetime)
        {
            return false;
        }

        ticket = new SessionTicket(
            (SessionKind)plain[1],
            new Guid(plain.AsSpan(10, 16)),
            Encoding.UTF8.GetString(plain, HeaderSize, principalLength),
            Encoding.UTF8.GetString(plain, HeaderSize + principalLength, plain.Length - HeaderSize - principalLength),
            issuedAt);
        return true;
    }
}
