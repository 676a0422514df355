// A bare YARP reverse proxy used only as the benchmark baseline.
//
// Every request, whatever its path or method, is handed to IHttpForwarder with HttpTransformer.Empty:
// headers, path and body pass through untouched, no routing table, no auth, no transforms, no logging
// beyond warnings. This is the floor that any YARP-based gateway pays for one proxy hop.
//
// Usage: YarpPassthrough PORT UPSTREAM_URL     e.g. YarpPassthrough 18082 http://127.0.0.1:18081

using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Forwarder;

if (args.Length != 2
    || !int.TryParse(args[0], out var port) || port is < 0 or > 65535
    || !Uri.TryCreate(args[1], UriKind.Absolute, out var upstreamUri)
    || (upstreamUri.Scheme != Uri.UriSchemeHttp && upstreamUri.Scheme != Uri.UriSchemeHttps))
{
    await Console.Error.WriteLineAsync("usage: YarpPassthrough PORT UPSTREAM_URL").ConfigureAwait(false);
    return 2;
}

// The request path is appended to this prefix, so /mcp on the proxy becomes /mcp on the upstream.
var upstream = upstreamUri.GetLeftPart(UriPartial.Authority);

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(IPAddress.Loopback, port);
});
builder.Services.AddHttpForwarder();

var app = builder.Build();

// One shared client for the process, configured the way YARP's docs recommend for direct forwarding.
using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    EnableMultipleHttp2Connections = true,
    ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
    ConnectTimeout = TimeSpan.FromSeconds(15),
});

var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
var requestConfig = new ForwarderRequestConfig
{
    ActivityTimeout = TimeSpan.FromSeconds(100),
    Version = HttpVersion.Version11,
    VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
};

// YARP itself sets 502/504 and logs (at Warning) when forwarding fails, so the result needs no handling here.
app.Run(async context =>
    await forwarder.SendAsync(context, upstream, invoker, requestConfig, HttpTransformer.Empty).ConfigureAwait(false));

await app.StartAsync().ConfigureAwait(false);
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
    ?? $"http://127.0.0.1:{port}";
Console.WriteLine($"listening on {address.TrimEnd('/')}/ -> {upstream}");
await app.WaitForShutdownAsync().ConfigureAwait(false);
return 0;
