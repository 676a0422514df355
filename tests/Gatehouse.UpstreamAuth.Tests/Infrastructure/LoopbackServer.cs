using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Gatehouse.UpstreamAuth.Tests.Infrastructure;

/// <summary>A request a <see cref="LoopbackServer"/> received.</summary>
internal sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The path and query as requested.</summary>
    public string PathAndQuery => Path + Query;

    /// <summary>The body parsed as an application/x-www-form-urlencoded form.</summary>
    public IReadOnlyDictionary<string, string> Form =>
        QueryHelpers.ParseQuery(Body).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A real Kestrel server on 127.0.0.1:0 that records every request, for playing MCP servers and authorization servers.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private LoopbackServer(WebApplication app) => _app = app;

    /// <summary><c>http://127.0.0.1:PORT</c>, without a trailing slash.</summary>
    public string Origin { get; private set; } = "";

    /// <summary>The requests received so far, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>The paths (with queries) requested so far, in order.</summary>
    public IReadOnlyList<string> Paths => Requests.Select(r => r.PathAndQuery).ToArray();

    /// <summary>An absolute URL on this server.</summary>
    public Uri Url(string pathAndQuery) => new(Origin + pathAndQuery);

    /// <summary>Starts a server; <paramref name="map"/> adds endpoints and may read <see cref="Origin"/> when a request runs.</summary>
    public static async Task<LoopbackServer> StartAsync(Action<WebApplication, LoopbackServer> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new LoopbackServer(app);
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Request.Body.Position = 0;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            server._requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body));
            await next(context);
        });
        map(app, server);
        await app.StartAsync();
        server.Origin = app.Urls.Single().TrimEnd('/');
        return server;
    }

    /// <summary>Writes a JSON body with a status.</summary>
    public static Task Json(HttpContext context, string json, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
