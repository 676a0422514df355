using System.Text;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>The Bearer challenge of a <c>WWW-Authenticate</c> header (RFC 6750 §3, RFC 9728 §5.1).</summary>
/// <param name="Scheme">The auth scheme as sent (<c>Bearer</c> in any case).</param>
/// <param name="ResourceMetadata">The absolute <c>resource_metadata</c> URL, when present and valid.</param>
/// <param name="Scope">The <c>scope</c> parameter: scopes needed for the request.</param>
/// <param name="Error">The <c>error</c> parameter (<c>invalid_token</c>, <c>insufficient_scope</c>, ...).</param>
/// <param name="ErrorDescription">The <c>error_description</c> parameter.</param>
public sealed record WwwAuthenticateChallenge(string Scheme, Uri? ResourceMetadata, string? Scope, string? Error, string? ErrorDescription)
{
    private static readonly IReadOnlyDictionary<string, string> NoParameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every auth-param of the challenge, unquoted; names compare case-insensitively.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = NoParameters;

    /// <summary>The Bearer challenge of a response (any of its <c>WWW-Authenticate</c> headers); null when there is none.</summary>
    public static WwwAuthenticateChallenge? FromResponse(HttpResponseMessage response)
    {
        // Raw values: the typed header parser would re-serialize parameters, which is not what the server sent.
        if (!response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            if (Parse(value) is { } challenge)
            {
                return challenge;
            }
        }

        return null;
    }

    /// <summary>The first Bearer challenge in a header value that may hold several challenges; null when there is none.</summary>
    public static WwwAuthenticateChallenge? Parse(string? headerValue)
    {
        if (string.IsNullOrWhiteSpace(headerValue))
        {
            return null;
        }

        foreach (var challenge in ParseAll(headerValue))
        {
            if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var parameters = challenge.Parameters;
            var metadata = parameters.TryGetValue("resource_metadata", out var url)
                && Uri.TryCreate(url, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttps || parsed.Scheme == Uri.UriSchemeHttp)
                ? parsed
                : null;
            return new WwwAuthenticateChallenge(
                challenge.Scheme, metadata, NonEmpty(parameters, "scope"), NonEmpty(parameters, "error"), NonEmpty(parameters, "error_description"))
            {
                Parameters = parameters,
            };
        }

        return null;
    }

    /// <summary>Every challenge of a header value (RFC 9110 §11.6.1: <c>scheme [ token68 / #auth-param ]</c>, comma-separated).</summary>
    internal static IReadOnlyList<(string Scheme, string? Token68, Dictionary<string, string> Parameters)> ParseAll(string value)
    {
        var challenges = new List<(string Scheme, string? Token68, Dictionary<string, string> Parameters)>();
        var i = 0;
        var afterScheme = false;
        while (true)
        {
            var sawComma = SkipWhitespaceAndCommas(value, ref i);
            if (i >= value.Length)
            {
                break;
            }

            if (afterScheme && !sawComma)
            {
                // Directly after "scheme SP": a token68 (Basic/Negotiate credentials style) if it stands alone.
                var start = i;
                var token68 = ReadToken68(value, ref i);
                SkipWhitespace(value, ref i);
                if (token68.Length > 0 && (i >= value.Length || value[i] == ','))
                {
                    var last = challenges[^1];
                    challenges[^1] = (last.Scheme, token68, last.Parameters);
                    afterScheme = false;
                    continue;
                }

                i = start;
            }

            afterScheme = false;
            var name = ReadToken(value, ref i);
            if (name.Length == 0)
            {
                // Not a token character: skip to the next list element.
                SkipPastComma(value, ref i);
                continue;
            }

            var afterName = i;
            SkipWhitespace(value, ref i);
            if (i < value.Length && value[i] == '=')
            {
                i++;
                SkipWhitespace(value, ref i);
                var paramValue = i < value.Length && value[i] == '"' ? ReadQuotedString(value, ref i) : ReadToken(value, ref i);
                if (challenges.Count > 0)
                {
                    // Each name occurs once per challenge (RFC 9110); the first wins if a server repeats one.
                    challenges[^1].Parameters.TryAdd(name, paramValue);
                }

                SkipWhitespace(value, ref i);
                if (i < value.Length && value[i] != ',')
                {
                    SkipPastComma(value, ref i);
                }

                continue;
            }

            challenges.Add((name, null, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)));
            afterScheme = i > afterName;
        }

        return challenges;
    }

    private static string? NonEmpty(Dictionary<string, string> parameters, string name) =>
        parameters.TryGetValue(name, out var value) && value.Trim() is { Length: > 0 } trimmed ? trimmed : null;

    private static bool SkipWhitespaceAndCommas(string s, ref int i)
    {
        var comma = false;
        while (i < s.Length && (s[i] is ' ' or '\t' or ','))
        {
            comma |= s[i] == ',';
            i++;
        }

        return comma;
    }

    private static void SkipWhitespace(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static void SkipPastComma(string s, ref int i)
    {
        while (i < s.Length && s[i] != ',')
        {
            if (s[i] == '"')
            {
                ReadQuotedString(s, ref i);
            }
            else
            {
                i++;
            }
        }
    }

    private static string ReadToken(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && IsTokenChar(s[i]))
        {
            i++;
        }

        return s[start..i];
    }

    private static string ReadToken68(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '.' or '_' or '~' or '+' or '/'))
        {
            i++;
        }

        if (i == start)
        {
            return "";
        }

        while (i < s.Length && s[i] == '=')
        {
            i++;
        }

        return s[start..i];
    }

    /// <summary>Reads <c>"..."</c> starting at the opening quote, resolving <c>\x</c> escapes; an unterminated string runs to the end.</summary>
    private static string ReadQuotedString(string s, ref int i)
    {
        var result = new StringBuilder();
        i++;
        while (i < s.Length)
        {
            var c = s[i++];
            if (c == '"')
            {
                break;
            }

            if (c == '\\' && i < s.Length)
            {
                c = s[i++];
            }

            result.Append(c);
        }

        return result.ToString();
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
