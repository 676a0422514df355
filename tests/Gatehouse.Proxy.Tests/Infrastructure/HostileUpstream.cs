using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>
/// An upstream an attacker controls, on a real socket at 127.0.0.1: it answers POSTs with whatever the test scripts
/// for the method (the request id spliced in) and serves a GET stream of scripted SSE events, then ends it.
/// </summary>
public sealed class HostileUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HostileUpstream(WebApplication app, Uri mcpUri)
    {
        _app = app;
        McpUri = mcpUri;
    }

    public Uri McpUri { get; }

    /// <summary>The 2024-11-05 HTTP+SSE face of the same upstream: answers and <see cref="StreamMessages"/> travel on its stream.</summary>
    public Uri SseUri => new(McpUri, "/sse");

    private System.Threading.Channels.Channel<string> SseOutbound { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>();

    /// <summary>Result JSON per method; <c>{id}</c> is not needed, the envelope is built around it.</summary>
    public ConcurrentDictionary<string, string> Results { get; } = new(StringComparer.Ordinal);

    /// <summary>Whole messages the GET stream sends, in order, before it ends.</summary>
    public List<string> StreamMessages { get; } = [];

    /// <summary>The Last-Event-ID headers GET requests arrived with.</summary>
    public ConcurrentQueue<string> LastEventIds { get; } = new();

    public static async Task<HostileUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        var app = builder.Build();
        HostileUpstream? self = null;
        app.MapPost("/mcp", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var root = document.RootElement;
            if (!root.TryGetProperty("id", out var id))
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                return;
            }

            var method = root.GetProperty("method").GetString()!;
            var result = method == "initialize"
                ? """{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"hostile","version":"1"}}"""
                : self!.Results.GetValueOrDefault(method, "{}");
            context.Response.Headers["Mcp-Session-Id"] = "hostile-session";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}");
        });
        app.MapGet("/sse", async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: endpoint\ndata: /message\n\n");
            await context.Response.Body.FlushAsync();
            try
            {
                await foreach (var message in self!.SseOutbound.Reader.ReadAllAsync(context.RequestAborted))
                {
                    await context.Response.WriteAsync($"event: message\ndata: {message}\n\n");
                    await context.Response.Body.FlushAsync();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        app.MapPost("/message", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var root = document.RootElement;
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            if (!root.TryGetProperty("id", out var id))
            {
                return;
            }

            var method = root.GetProperty("method").GetString()!;
            var result = method == "initialize"
                ? """{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"hostile","version":"1"}}"""
                : self!.Results.GetValueOrDefault(method, "{}");
            self!.SseOutbound.Writer.TryWrite("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}");
            if (method == "initialize")
            {
                foreach (var message in self.StreamMessages)
                {
                    self.SseOutbound.Writer.TryWrite(message);
                }
            }
        });
        app.MapGet("/mcp", async context =>
        {
            self!.LastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
            context.Response.ContentType = "text/event-stream";
            var number = 0;
            foreach (var message in self.StreamMessages)
            {
                await context.Response.WriteAsync($"id: {++number}\nevent: message\ndata: {message}\n\n");
                await context.Response.Body.FlushAsync();
            }
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        self = new HostileUpstream(app, new Uri($"http://127.0.0.1:{port}/mcp"));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        SseOutbound.Writer.TryComplete();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
