using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Forwarding;

/// <summary>A message body read into memory from the pool, bounded by a limit.</summary>
/// <remarks>
/// MCP messages are single JSON-RPC messages with a size limit, so buffering a request is bounded and lets the
/// envelope be read and the same bytes forwarded untouched. Responses that stream (SSE) are never buffered.
/// </remarks>
public sealed class BodyBuffer : IDisposable
{
    private byte[] _array;

    private BodyBuffer(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    /// <summary>Number of bytes.</summary>
    public int Length { get; }

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    /// <summary>Reads a whole stream; null when it exceeds <paramref name="limit"/>.</summary>
    public static async Task<BodyBuffer?> ReadAsync(Stream stream, long? declaredLength, long limit, CancellationToken cancellationToken)
    {
        if (declaredLength > limit)
        {
            return null;
        }

        // One byte more than declared, so that a body filling the array exactly does not force a bigger copy just
        // to see the end of the stream.
        var size = declaredLength is > 0 ? (int)Math.Min(declaredLength.Value + 1, Array.MaxLength) : 4096;
        var array = ArrayPool<byte>.Shared.Rent(size);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == array.Length)
                {
                    if (length >= limit + 1)
                    {
                        ArrayPool<byte>.Shared.Return(array);
                        return null;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)array.Length * 2, limit + 1));
                    array.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(array);
                    array = bigger;
                }

                var read = await stream.ReadAsync(array.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    ArrayPool<byte>.Shared.Return(array);
                    return null;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(array);
            throw;
        }

        return new BodyBuffer(array, length);
    }

    /// <summary>Reads a request body.</summary>
    /// <exception cref="BadHttpRequestException">The client sent a body that cannot be read (Kestrel reports broken chunking as an IOException).</exception>
    public static async Task<BodyBuffer?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(request.Body, request.ContentLength, limit, cancellationToken);
        }
        catch (IOException e) when (e is not BadHttpRequestException && !request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            throw new BadHttpRequestException($"the request body is broken ({e.Message.TrimEnd('.')}).", StatusCodes.Status400BadRequest, e);
        }
    }

    /// <summary>Wraps the bytes as upstream request content (no copy).</summary>
    public HttpContent ToContent() => new ReadOnlyMemoryContent(Memory);

    /// <inheritdoc />
    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, []);
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
