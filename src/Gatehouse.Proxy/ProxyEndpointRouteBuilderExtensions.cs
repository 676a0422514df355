using Gatehouse.Proxy.Endpoints;
using Gatehouse.Proxy.Recording;
using Gatehouse.Proxy.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the proxy's endpoints.</summary>
public static class ProxyEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/mcp/{server}</c> (Streamable HTTP: POST, GET, DELETE), <c>/mcp/{server}/sse</c> and
    /// <c>/mcp/{server}/message</c> (HTTP+SSE), and the protected-resource metadata of every server.
    /// </summary>
    public static IEndpointRouteBuilder MapGatehouseProxy(this IEndpointRouteBuilder endpoints)
    {
        var streamable = endpoints.ServiceProvider.GetRequiredService<StreamableHttpEndpoint>();
        var legacy = endpoints.ServiceProvider.GetRequiredService<LegacySseEndpoint>();
        var metadata = endpoints.ServiceProvider.GetRequiredService<ProtectedResourceMetadata>();
        var validator = endpoints.ServiceProvider.GetRequiredService<HostOriginValidator>();
        var recorder = endpoints.ServiceProvider.GetRequiredService<ExchangeRecorder>();

        // Every proxied request (preflights aside) leaves one decision record, written when it ends.
        RequestDelegate WithCors(Func<HttpContext, string, Task> handler) => async context =>
        {
            if (CorsHeaders.Apply(context, validator))
            {
                return;
            }

            var server = (string)context.Request.RouteValues["server"]!;
            // A name that is not a slug names no server; answering before anything echoes it keeps it out of headers.
            if (!Gatehouse.Core.Servers.ServerName.TryValidate(server, out _))
            {
                await Gatehouse.Proxy.Errors.ErrorResponses.WriteAsync(context, Gatehouse.Core.Errors.BadInputErrors.InvalidServerName(), null, null);
                return;
            }

            var exchange = recorder.Begin(context, server);
            try
            {
                await handler(context, server);
            }
            finally
            {
                recorder.Complete(context, exchange);
            }
        };

        endpoints.MapMethods("/mcp/{server}", ["POST"], WithCors(streamable.PostAsync));
        endpoints.MapMethods("/mcp/{server}", ["GET"], WithCors(streamable.GetAsync));
        endpoints.MapMethods("/mcp/{server}", ["DELETE"], WithCors(streamable.DeleteAsync));
        endpoints.MapMethods("/mcp/{server}/sse", ["GET"], WithCors(legacy.OpenStreamAsync));
        endpoints.MapMethods("/mcp/{server}/message", ["POST"], WithCors(legacy.PostMessageAsync));
        endpoints.MapMethods("/mcp/{server}", ["OPTIONS"], WithCors((_, _) => Task.CompletedTask));
        endpoints.MapMethods("/mcp/{server}/sse", ["OPTIONS"], WithCors((_, _) => Task.CompletedTask));
        endpoints.MapMethods("/mcp/{server}/message", ["OPTIONS"], WithCors((_, _) => Task.CompletedTask));
        endpoints.MapGet(ProtectedResourceMetadata.WellKnownPrefix + "/mcp/{server}", context => metadata.WriteAsync(context, (string)context.Request.RouteValues["server"]!));
        return endpoints;
    }
}
