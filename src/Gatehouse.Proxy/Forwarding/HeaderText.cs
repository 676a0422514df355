using System.Net.Http.Headers;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>What may go into an HTTP header: Kestrel and HttpClient refuse anything but printable ASCII (and tab).</summary>
public static class HeaderText
{
    /// <summary>True when <paramref name="value"/> can be written as a header value as is.</summary>
    public static bool IsSendable(string? value)
    {
        foreach (var c in value.AsSpan())
        {
            if (c is not ('\t' or >= ' ' and <= '~'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Text made safe inside a quoted-string: quotes and backslashes become apostrophes, anything unsendable a '?'.</summary>
    public static string QuotedStringContent(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c is '"' or '\\' ? '\'' : c is >= ' ' and <= '~' ? c : '?';
            }
        });

    /// <summary>The name of the first header of <paramref name="request"/> whose value cannot be sent, or null.</summary>
    public static string? FirstUnsendable(HttpRequestMessage request) =>
        FirstUnsendable(request.Headers) ?? (request.Content is { } content ? FirstUnsendable(content.Headers) : null);

    private static string? FirstUnsendable(HttpHeaders headers)
    {
        foreach (var (name, values) in headers.NonValidated)
        {
            foreach (var value in values)
            {
                if (!IsSendable(value))
                {
                    return name;
                }
            }
        }

        return null;
    }
}
