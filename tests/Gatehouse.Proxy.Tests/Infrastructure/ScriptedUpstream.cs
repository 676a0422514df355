using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>An HTTP server on 127.0.0.1:0 whose every request runs a test's handler: for upstream behaviour the SDK would never show.</summary>
public sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private ScriptedUpstream(WebApplication app, Uri uri)
    {
        _app = app;
        Uri = uri;
    }

    /// <summary>The URL to register (path <c>/mcp</c>).</summary>
    public Uri Uri { get; }

    /// <summary>How many requests arrived.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    /// <summary>Completed when the first request has arrived with its whole body.</summary>
    public TaskCompletionSource<string> FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<ScriptedUpstream> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        ScriptedUpstream? self = null;
        app.Run(async context =>
        {
            Interlocked.Increment(ref self!._requests);
            using var reader = new StreamReader(context.Request.Body);
            self.FirstRequest.TrySetResult(await reader.ReadToEndAsync(context.RequestAborted));
            await handler(context);
        });
        await app.StartAsync();
        self = new ScriptedUpstream(app, new Uri(app.Urls.Single() + "/mcp"));
        return self;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
