using System.Globalization;
using System.Text;

namespace Gatehouse.Core.Policy;

/// <summary>
/// The normal form in which resource URIs are compared with policy patterns (RFC 3986 §6.2.2, plus a little more).
/// </summary>
/// <remarks>
/// Upstreams differ in how leniently they read a URI, and policy must not be the strictest reader of all: two URIs that
/// some upstream might take for the same resource must get the same decision. So the normal form lower-cases the scheme
/// and host, upper-cases percent-encoding hex digits, decodes percent-encoded unreserved characters, drops the fragment,
/// removes dot segments (RFC 3986 §5.2.4) and trailing slashes of the path, and percent-encodes non-ASCII letters, digits
/// and marks (IRIs). What cannot be brought to that form is refused: no scheme, whitespace, control or format
/// characters, other non-ASCII characters, characters RFC 3986 does not allow, and malformed percent-encoding.
/// Pure and allocation-light; the result is what the decision log records.
/// </remarks>
public static class ResourceUri
{
    /// <summary>Brings <paramref name="uri"/> to normal form; false with <paramref name="problem"/> when it cannot be.</summary>
    public static bool TryNormalize(string uri, out string normalized, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(uri);
        normalized = string.Empty;
        var colon = SchemeLength(uri);
        if (colon <= 0)
        {
            problem = "it has no scheme (such as 'file:' or 'https:')";
            return false;
        }

        var builder = new StringBuilder(uri.Length + 8);
        builder.Append(uri.AsSpan(0, colon).ToString().ToLowerInvariant()).Append(':');
        var rest = uri.AsSpan(colon + 1);
        var hash = rest.IndexOf('#');
        if (hash >= 0)
        {
            rest = rest[..hash];
        }

        var decoded = new StringBuilder(rest.Length);
        if (!Canonicalize(rest, decoded, out problem))
        {
            return false;
        }

        var text = decoded.ToString();
        var pathStart = 0;
        if (text.StartsWith("//", StringComparison.Ordinal))
        {
            var authorityEnd = text.IndexOfAny(['/', '?'], 2);
            authorityEnd = authorityEnd < 0 ? text.Length : authorityEnd;
            builder.Append("//").Append(LowerHost(text.AsSpan(2, authorityEnd - 2)));
            pathStart = authorityEnd;
        }

        var queryStart = text.IndexOf('?', pathStart);
        var path = queryStart < 0 ? text[pathStart..] : text[pathStart..queryStart];
        builder.Append(RemoveDotSegments(path).TrimEnd('/'));
        if (queryStart >= 0 && queryStart < text.Length - 1)
        {
            // An empty query ("?" alone) is dropped: lenient readers ignore it.
            builder.Append(text.AsSpan(queryStart));
        }

        normalized = builder.ToString();
        problem = null;
        return true;
    }

    /// <summary>
    /// The form a policy's resource pattern is stored in, so that it matches normalized URIs: the scheme and a host
    /// without wildcards are lower-cased and percent-encoding is canonical, wildcards left as they are.
    /// </summary>
    public static string NormalizePattern(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var colon = SchemeLength(pattern);
        if (colon <= 0)
        {
            return pattern;
        }

        var rest = pattern.AsSpan(colon + 1);
        var decoded = new StringBuilder(rest.Length);
        if (!Canonicalize(rest, decoded, out _, allowWildcards: true))
        {
            return pattern;
        }

        var text = decoded.ToString();
        var builder = new StringBuilder(pattern.Length);
        builder.Append(pattern.AsSpan(0, colon).ToString().ToLowerInvariant()).Append(':');
        if (text.StartsWith("//", StringComparison.Ordinal))
        {
            var authorityEnd = text.IndexOf('/', 2);
            authorityEnd = authorityEnd < 0 ? text.Length : authorityEnd;
            builder.Append("//").Append(LowerHost(text.AsSpan(2, authorityEnd - 2)));
            text = text[authorityEnd..];
        }

        // A literal pattern loses its trailing slashes as normalized URIs do; a wildcard pattern keeps its shape.
        builder.Append(text.Contains('*', StringComparison.Ordinal) || text.Contains('?', StringComparison.Ordinal) ? text : text.TrimEnd('/'));
        return builder.ToString();
    }

    /// <summary>True when the pattern holds a <c>.</c> or <c>..</c> path segment, which no normalized URI has.</summary>
    public static bool HasDotSegment(string pattern) =>
        pattern.Contains("/./", StringComparison.Ordinal) || pattern.Contains("/../", StringComparison.Ordinal)
        || pattern.EndsWith("/.", StringComparison.Ordinal) || pattern.EndsWith("/..", StringComparison.Ordinal);

    private static int SchemeLength(string text)
    {
        if (text.Length == 0 || !char.IsAsciiLetter(text[0]))
        {
            return -1;
        }

        for (var i = 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == ':')
            {
                return i;
            }

            if (!char.IsAsciiLetterOrDigit(c) && c is not '+' and not '-' and not '.')
            {
                return -1;
            }
        }

        return -1;
    }

    /// <summary>Checks every character, decodes unreserved percent-encodings, upper-cases the rest and encodes IRI characters.</summary>
    private static bool Canonicalize(ReadOnlySpan<char> text, StringBuilder into, out string? problem, bool allowWildcards = false)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    problem = "it holds a '%' that does not start a percent-encoded byte";
                    return false;
                }

                var value = (char)int.Parse(text.Slice(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (IsUnreserved(value))
                {
                    into.Append(value);
                }
                else
                {
                    into.Append('%').Append(char.ToUpperInvariant(text[i + 1])).Append(char.ToUpperInvariant(text[i + 2]));
                }

                i += 2;
                continue;
            }

            if (c < 0x80)
            {
                if (IsUnreserved(c) || IsReserved(c) || (allowWildcards && c == '*'))
                {
                    into.Append(c);
                    continue;
                }

                problem = char.IsWhiteSpace(c) || char.IsControl(c)
                    ? "it holds whitespace or a control character"
                    : $"it holds '{c}', which a URI must percent-encode";
                return false;
            }

            if (Rune.DecodeFromUtf16(text[i..], out var rune, out _) != System.Buffers.OperationStatus.Done || !IsIriCharacter(Rune.GetUnicodeCategory(rune)))
            {
                problem = "it holds a non-ASCII character that is not a letter, digit or mark (such as a space, a format character or a symbol)";
                return false;
            }

            var length = rune.EncodeToUtf8(utf8);
            for (var b = 0; b < length; b++)
            {
                into.Append('%').Append(utf8[b].ToString("X2", CultureInfo.InvariantCulture));
            }

            i += rune.Utf16SequenceLength - 1;
        }

        problem = null;
        return true;
    }

    private static bool IsIriCharacter(UnicodeCategory category) => category is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.DecimalDigitNumber;

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';

    private static bool IsReserved(char c) => c is ':' or '/' or '?' or '#' or '[' or ']' or '@'
        or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '=';

    private static string LowerHost(ReadOnlySpan<char> authority)
    {
        // userinfo@host:port: only the host is case-insensitive (RFC 3986 §3.2.2).
        var at = authority.LastIndexOf('@');
        var host = authority[(at + 1)..];
        return string.Concat(authority[..(at + 1)], host.ToString().ToLowerInvariant());
    }

    /// <summary>RFC 3986 §5.2.4.</summary>
    private static string RemoveDotSegments(string path)
    {
        if (!path.Contains('.', StringComparison.Ordinal))
        {
            return path;
        }

        var input = path;
        var output = new StringBuilder(path.Length);
        while (input.Length > 0)
        {
            if (input.StartsWith("../", StringComparison.Ordinal))
            {
                input = input[3..];
            }
            else if (input.StartsWith("./", StringComparison.Ordinal))
            {
                input = input[2..];
            }
            else if (input.StartsWith("/./", StringComparison.Ordinal))
            {
                input = input[2..];
            }
            else if (input == "/.")
            {
                input = "/";
            }
            else if (input.StartsWith("/../", StringComparison.Ordinal) || input == "/..")
            {
                input = input.Length == 3 ? "/" : input[3..];
                var last = output.ToString().LastIndexOf('/');
                output.Length = last < 0 ? 0 : last;
            }
            else if (input is "." or "..")
            {
                input = string.Empty;
            }
            else
            {
                var next = input.IndexOf('/', input[0] == '/' ? 1 : 0);
                next = next < 0 ? input.Length : next;
                output.Append(input.AsSpan(0, next));
                input = input[next..];
            }
        }

        return output.ToString();
    }
}
