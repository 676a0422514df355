using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>One raw HTTP/1.1 answer: status, headers as sent, body (de-chunked).</summary>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body, bool TimedOut)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>
/// Writes requests byte for byte over a socket to 127.0.0.1, because HttpClient refuses what hostile clients send
/// (control characters in paths and headers, broken chunking).
/// </summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> as is (it should say <c>Connection: close</c>) and reads the answer to the end or the timeout.</summary>
    public static async Task<RawResponse> SendAsync(Uri baseUri, byte[] request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", baseUri.Port, cts.Token);
        var stream = client.GetStream();
        var received = new MemoryStream();
        // Reading starts before writing: a server that answers early (413, 431) and closes must still be heard.
        var reading = ReadAsync(stream, received, cts.Token);
        try
        {
            await stream.WriteAsync(request, cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The server stopped reading: whatever it answered is the answer.
        }

        var timedOut = !await reading;
        return Parse(received.ToArray(), timedOut);
    }

    /// <summary>Builds a request: the request line and headers exactly as given (Host and Connection: close added), then the body.</summary>
    public static byte[] Build(string method, string target, IEnumerable<(string Name, string Value)> headers, byte[]? body = null, bool chunked = false, string? host = null)
    {
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(host ?? "127.0.0.1").Append("\r\n");
        head.Append("Connection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (body is not null && !chunked)
        {
            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }

        head.Append("\r\n");
        // Latin-1 for the head, so a char below 256 goes out as exactly that byte (control characters, raw 0xC3 …).
        var bytes = Encoding.Latin1.GetBytes(head.ToString());
        return body is null ? bytes : [.. bytes, .. body];
    }

    /// <returns>False when the timeout ended the reading.</returns>
    private static async Task<bool> ReadAsync(Stream stream, MemoryStream received, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    return true;
                }

                received.Write(buffer, 0, read);
                if (received.Length > 4 * 1024 * 1024 || IsEventStreamHead(received))
                {
                    // A stream that opened is an answer; it may stay open for as long as the session lives.
                    return true;
                }
            }
        }
        catch (IOException)
        {
            // Reset after answering (the server refused the rest of the request).
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static bool IsEventStreamHead(MemoryStream received)
    {
        var text = Encoding.Latin1.GetString(received.GetBuffer(), 0, (int)received.Length);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end > 0 && text[..end].Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
    }

    private static RawResponse Parse(byte[] bytes, bool timedOut)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || text.Length < 12)
        {
            return new RawResponse(0, [], text, timedOut);
        }

        var status = int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        var headText = end < 0 ? text : text[..end];
        foreach (var line in headText.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }

        var bodyBytes = end < 0 ? [] : bytes.AsSpan(end + 4).ToArray();
        var chunked = headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        var body = chunked ? Dechunk(bodyBytes) : Encoding.UTF8.GetString(bodyBytes);
        return new RawResponse(status, headers, body, timedOut);
    }

    private static string Dechunk(byte[] bytes)
    {
        var output = new MemoryStream();
        var position = 0;
        while (position < bytes.Length)
        {
            var lineEnd = bytes.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }

            var sizeText = Encoding.ASCII.GetString(bytes, position, lineEnd).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            position += lineEnd + 2;
            var take = Math.Min(size, bytes.Length - position);
            output.Write(bytes, position, take);
            position += take + 2;
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }
}
