using System.Text;
using System.Text.Json;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>Reading what authorization servers answer, defensively: their text ends up in Gatehouse's messages and logs.</summary>
internal static class OAuthResponses
{
    /// <summary>The longest error description kept from a server.</summary>
    public const int MaxDescriptionLength = 200;

    /// <summary>The <c>error</c> and <c>error_description</c> of an error body; nulls when it is not a JSON OAuth error.</summary>
    public static (string? Error, string? Description) ReadError(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return (null, null);
        }

        try
        {
            var error = JsonSerializer.Deserialize(body, ProtocolJsonContext.Default.OAuthErrorResponse);
            return (Clean(error?.Error, 64), Clean(error?.ErrorDescription, MaxDescriptionLength));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>Trims, drops control characters and shortens to <paramref name="max"/> characters; null when nothing is left.</summary>
    public static string? Clean(string? text, int max = MaxDescriptionLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var trimmed = text.Trim();
        var builder = new StringBuilder(Math.Min(trimmed.Length, max));
        foreach (var c in trimmed.Length > max ? trimmed.AsSpan(0, max - 1) : trimmed.AsSpan())
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        if (trimmed.Length > max)
        {
            builder.Append('…');
        }

        return builder.ToString();
    }
}
