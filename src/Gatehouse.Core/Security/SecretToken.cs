using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Core.Security;

/// <summary>Creates, recognises and hashes Gatehouse's bearer secrets (grant tokens, admin tokens).</summary>
/// <remarks>
/// Format: a four-character prefix (<c>gth_</c> for grants, <c>gta_</c> for the admin API) + 43 base62 characters of randomness (256 bits) + 6 base62 characters of checksum (the first 32 bits of the SHA-256 of the rest).
/// The fixed prefix lets secret scanners find leaked tokens, and the checksum lets them (and Gatehouse) reject
/// mistyped or made-up strings without a lookup. Tokens carry 256 bits of entropy, so a plain SHA-256 is the
/// right hash: a slow KDF would only cost time on every request without adding security.
/// </remarks>
public static class SecretToken
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private const int RandomLength = 43;
    private const int ChecksumLength = 6;

    /// <summary>Total length of a token.</summary>
    public const int Length = PrefixLength + RandomLength + ChecksumLength;

    private const int PrefixLength = 4;

    /// <summary>Creates a new random token.</summary>
    public static string Create(string prefix)
    {
        Span<char> chars = stackalloc char[Length];
        if (prefix.Length != PrefixLength)
        {
            throw new ArgumentException("Token prefixes are four characters.", nameof(prefix));
        }

        prefix.AsSpan().CopyTo(chars);
        var body = chars.Slice(PrefixLength, RandomLength);
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        WriteChecksum(chars[..(PrefixLength + RandomLength)], chars[(PrefixLength + RandomLength)..]);
        return new string(chars);
    }

    /// <summary>True when the string has the prefix, shape and checksum of a token.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token, string prefix)
    {
        if (token.Length != Length || !token.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in token[PrefixLength..])
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        Span<char> expected = stackalloc char[ChecksumLength];
        WriteChecksum(token[..(PrefixLength + RandomLength)], expected);
        return token[(PrefixLength + RandomLength)..].SequenceEqual(expected);
    }

    /// <summary>The lower-case hex SHA-256 of the token: what is stored and looked up.</summary>
    public static string Hash(ReadOnlySpan<char> token)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(token.Length)];
        var written = Encoding.UTF8.GetBytes(token, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..written], digest);
        return Convert.ToHexStringLower(digest);
    }

    private static void WriteChecksum(ReadOnlySpan<char> payload, Span<char> destination)
    {
        Span<byte> ascii = stackalloc byte[payload.Length];
        for (var i = 0; i < payload.Length; i++)
        {
            ascii[i] = (byte)payload[i];
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(ascii, digest);
        var crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(digest);
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(crc % (uint)Alphabet.Length)];
            crc /= (uint)Alphabet.Length;
        }
    }
}
