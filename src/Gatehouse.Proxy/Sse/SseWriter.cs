using System.Text;

namespace Gatehouse.Proxy.Sse;

/// <summary>Formats server-sent events.</summary>
public static class SseWriter
{
    /// <summary>Formats one event; multi-line data becomes several <c>data:</c> lines.</summary>
    public static byte[] Format(string? eventType, string data, string? id = null, TimeSpan? retry = null)
    {
        var builder = new StringBuilder();
        if (!string.IsNullOrEmpty(eventType) && eventType != "message")
        {
            builder.Append("event: ").Append(eventType).Append('\n');
        }

        if (!string.IsNullOrEmpty(id))
        {
            builder.Append("id: ").Append(id).Append('\n');
        }

        if (retry is { } r)
        {
            builder.Append("retry: ").Append((long)r.TotalMilliseconds).Append('\n');
        }

        foreach (var line in data.Split('\n'))
        {
            builder.Append("data: ").Append(line).Append('\n');
        }

        builder.Append('\n');
        return Encoding.UTF8.GetBytes(builder.ToString());
    }
}
