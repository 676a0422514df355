using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.UpstreamAuth.Net;

/// <summary>
/// The HTTP client for every URL Gatehouse learns from the network while authorizing with an upstream: metadata
/// documents, registration, token and revocation endpoints. It refuses targets an <see cref="OutboundUrlPolicy"/>
/// forbids, checks again at connect time, follows redirects itself and bounds time and response size.
/// </summary>
/// <remarks>
/// <para>
/// The URL is checked before sending, and the connection callback checks every address the host resolves to and
/// connects only to that checked address, so DNS rebinding between the check and the connect gains nothing. Proxies,
/// cookies and automatic redirects are off; GET and HEAD follow up to five redirects with each hop checked like the
/// first, while a POST answered with a 3xx gets that answer back (token and registration requests are never re-sent).
/// </para>
/// <para>
/// Failures: <see cref="OutboundUrlRefusedException"/> for a refused target (first hop, redirect hop or resolved
/// address), <see cref="HttpRequestException"/> for network errors, too many redirects and responses over the size
/// limit (<see cref="HttpRequestError.ConfigurationLimitExceeded"/>), and <see cref="TimeoutException"/> when the
/// whole exchange takes longer than the timeout. No message contains request headers or bodies.
/// </para>
/// </remarks>
public sealed partial class GuardedHttpClient : IDisposable
{
    /// <summary>The most redirects a GET or HEAD follows.</summary>
    public const int MaxRedirects = 5;

    private const string UserAgent = "Gatehouse";
    private readonly ConcurrentDictionary<OutboundUrlPolicy, Lazy<HttpMessageInvoker>> _invokers = new();
    private readonly ILogger _logger;
    private volatile bool _disposed;

    /// <summary>Creates a client.</summary>
    /// <param name="timeout">How long one exchange (connect, redirects, reading the body) may take; 15 seconds when null.</param>
    /// <param name="maxResponseBytes">The largest response body accepted (1 MiB by default).</param>
    /// <param name="logger">Where refusals are logged (URLs without query strings only).</param>
    public GuardedHttpClient(TimeSpan? timeout = null, long maxResponseBytes = 1 << 20, ILogger<GuardedHttpClient>? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxResponseBytes, 0);
        Timeout = timeout ?? TimeSpan.FromSeconds(15);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(timeout));
        MaxResponseBytes = maxResponseBytes;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>How long one exchange may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The largest response body accepted.</summary>
    public long MaxResponseBytes { get; }

    /// <summary>Sends a request after checking its URL; the response body is buffered (within <see cref="MaxResponseBytes"/>).</summary>
    /// <param name="request">The request; it is sent once and not reused.</param>
    /// <param name="policy">Which targets are allowed.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="OutboundUrlRefusedException">The URL, a redirect hop or a resolved address is not allowed.</exception>
    /// <exception cref="HttpRequestException">A network error, too many redirects or a response over the size limit.</exception>
    /// <exception cref="TimeoutException">The exchange took longer than <see cref="Timeout"/>.</exception>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, OutboundUrlPolicy policy, CancellationToken ct) =>
        SendCoreAsync(request, policy, bufferContent: true, ct);

    /// <summary>Fetches a JSON document with GET.</summary>
    /// <returns>The document, or null when the server answers 404 or 410.</returns>
    /// <exception cref="HttpRequestException">Any other non-success status (with <see cref="HttpRequestException.StatusCode"/>), or a network error.</exception>
    /// <exception cref="JsonException">The body is not the expected JSON.</exception>
    /// <exception cref="OutboundUrlRefusedException">The URL or a redirect hop is not allowed.</exception>
    /// <exception cref="TimeoutException">The exchange took longer than <see cref="Timeout"/>.</exception>
    public async Task<T?> GetJsonAsync<T>(Uri url, OutboundUrlPolicy policy, JsonTypeInfo<T> typeInfo, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await SendAsync(request, policy, ct);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return default;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                HttpRequestError.Unknown,
                $"{OutboundUrlRefusedException.Describe(url)} answered HTTP {(int)response.StatusCode}.",
                inner: null,
                response.StatusCode);
        }

        var body = await response.Content.ReadAsByteArrayAsync(ct);
        return JsonSerializer.Deserialize(body, typeInfo);
    }

    /// <summary>Sends a request; <paramref name="bufferContent"/> false leaves the body streaming (for probes that never read it).</summary>
    internal async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, OutboundUrlPolicy policy, bool bufferContent, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var url = request.RequestUri ?? throw new ArgumentException("The request has no URL.", nameof(request));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(Timeout);
        var invoker = Invoker(policy);
        var current = request;
        try
        {
            Check(url, policy);
            if (request.Headers.UserAgent.Count == 0)
            {
                request.Headers.UserAgent.Add(new ProductInfoHeaderValue(UserAgent, "1"));
            }

            for (var hop = 0; ; hop++)
            {
                var response = await invoker.SendAsync(current, deadline.Token);
                if (!IsRedirect(response.StatusCode) || !Follows(request.Method) || response.Headers.Location is not { } location)
                {
                    if (bufferContent)
                    {
                        await BufferAsync(response, current.RequestUri!, deadline.Token);
                    }

                    return response;
                }

                response.Dispose();
                var next = location.IsAbsoluteUri ? location : new Uri(current.RequestUri!, location);
                if (hop >= MaxRedirects)
                {
                    throw new HttpRequestException(
                        HttpRequestError.Unknown,
                        $"{OutboundUrlRefusedException.Describe(url)} redirected more than {MaxRedirects} times; Gatehouse stopped following.");
                }

                Check(next, policy);
                var previous = current;
                current = CloneForRedirect(previous, next);
                if (!ReferenceEquals(previous, request))
                {
                    previous.Dispose();
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The caller did not cancel: the deadline (or the handler's connect timeout, which equals it) ran out.
            throw new TimeoutException($"{OutboundUrlRefusedException.Describe(current.RequestUri ?? url)} did not answer within {Timeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refusal)
        {
            // The connect callback's refusal arrives wrapped by the handler; callers see the refusal itself.
            LogRefused(_logger, refusal.Url, refusal.Reason);
            ExceptionDispatchInfo.Throw(refusal);
            throw;
        }
        finally
        {
            if (!ReferenceEquals(current, request))
            {
                current.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        foreach (var invoker in _invokers.Values)
        {
            if (invoker.IsValueCreated)
            {
                invoker.Value.Dispose();
            }
        }

        _invokers.Clear();
    }

    private void Check(Uri url, OutboundUrlPolicy policy)
    {
        try
        {
            OutboundTargetRules.EnsureAllowed(url, policy);
        }
        catch (OutboundUrlRefusedException ex)
        {
            LogRefused(_logger, ex.Url, ex.Reason);
            throw;
        }
    }

    /// <summary>One handler per policy, so a connection pooled under a lenient policy is never reused under a strict one.</summary>
    private HttpMessageInvoker Invoker(OutboundUrlPolicy policy) =>
        _invokers.GetOrAdd(policy, p => new Lazy<HttpMessageInvoker>(() => new HttpMessageInvoker(CreateSocketsHandler(p, Timeout), disposeHandler: true))).Value;

    /// <summary>
    /// A handler without proxies, cookies or automatic redirects that connects only to addresses <paramref name="policy"/>
    /// allows (checked after resolution, so DNS rebinding gains nothing).
    /// </summary>
    internal static SocketsHttpHandler CreateSocketsHandler(OutboundUrlPolicy policy, TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.All,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = (context, token) => ConnectAsync(context, policy, token),
    };

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, OutboundUrlPolicy policy, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var port = context.DnsEndPoint.Port;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        OutboundTargetRules.EnsureAddressesAllowed(context.InitialRequestMessage.RequestUri, host, port, addresses, policy);

        // Connect to the addresses just checked, never to a fresh resolution of the name.
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }

    private async Task BufferAsync(HttpResponseMessage response, Uri url, CancellationToken ct)
    {
        var original = response.Content;
        try
        {
            if (original.Headers.ContentLength > MaxResponseBytes)
            {
                throw TooLarge(url);
            }

            await using var stream = await original.ReadAsStreamAsync(ct);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > MaxResponseBytes)
                {
                    throw TooLarge(url);
                }

                buffer.Write(chunk, 0, read);
            }

            var buffered = new ByteArrayContent(buffer.ToArray());
            foreach (var header in original.Headers)
            {
                if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            response.Content = buffered;
        }
        catch
        {
            response.Dispose();
            throw;
        }
        finally
        {
            original.Dispose();
        }
    }

    private HttpRequestException TooLarge(Uri url) => new(
        HttpRequestError.ConfigurationLimitExceeded,
        $"{OutboundUrlRefusedException.Describe(url)} answered with more than {MaxResponseBytes:N0} bytes, " +
        "far beyond any authorization document or token response; Gatehouse stopped reading.");

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool Follows(HttpMethod method) => method == HttpMethod.Get || method == HttpMethod.Head;

    private static HttpRequestMessage CloneForRedirect(HttpRequestMessage previous, Uri next)
    {
        var clone = new HttpRequestMessage(previous.Method, next) { Version = previous.Version, VersionPolicy = previous.VersionPolicy };
        var sameOrigin = Uri.Compare(previous.RequestUri, next, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
        foreach (var header in previous.Headers)
        {
            // Credentials never follow a redirect to another origin.
            if (!sameOrigin && (header.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Cookie", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return clone;
    }

    private static OutboundUrlRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is OutboundUrlRefusedException refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Outbound request to {Url} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string url, OutboundUrlRefusal reason);
}
