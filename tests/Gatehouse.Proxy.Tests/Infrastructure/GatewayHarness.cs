using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Host.Hosting;
using Gatehouse.Proxy;
using Microsoft.AspNetCore.Builder;
using ModelContextProtocol.Client;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>A real Gatehouse on 127.0.0.1:0 over a temporary data directory, driven through its own CLI.</summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _keepData;

    private GatewayHarness(WebApplication app, string dataDirectory, Uri baseUri)
    {
        _app = app;
        DataDirectory = dataDirectory;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string DataDirectory { get; }

    public Uri BaseUri { get; }

    public HttpClient Http { get; }

    /// <summary>The running gateway's services (its decision log writer, telemetry, registries).</summary>
    public IServiceProvider Services => _app.Services;

    public static async Task<GatewayHarness> StartAsync(
        Action<ProxyOptions>? configure = null, Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null,
        Action<Gatehouse.UpstreamAuth.Connections.UpstreamAuthOptions>? upstreamAuth = null, string? dataDirectory = null, string urls = "http://127.0.0.1:0",
        bool keepData = false, Action<Gatehouse.Identity.AuthorizationServerOptions>? authorizationServer = null, TimeProvider? upstreamAuthTime = null,
        Func<ServeSettings, ServeSettings>? settings = null)
    {
        dataDirectory ??= Directory.CreateTempSubdirectory("gatehouse-test-").FullName;
        var serve = new ServeSettings
        {
            DataDirectory = dataDirectory, Urls = urls, ConfigureProxy = configure, ConfigureLogging = logging, ConfigureUpstreamAuth = upstreamAuth, UpstreamAuthTime = upstreamAuthTime,
            ConfigureAuthorizationServer = authorizationServer,
        };
        var app = await GatehouseApplication.BuildAsync(settings?.Invoke(serve) ?? serve);
        await app.StartAsync();
        var address = GatehouseApplication.ListeningAddresses(app).Single();
        return new GatewayHarness(app, dataDirectory, new Uri(address.TrimEnd('/') + "/")) { _keepData = keepData };
    }

    public Uri McpUri(string server) => new(BaseUri, $"mcp/{server}");

    /// <summary>Runs the gatehouse CLI in-process against this gateway's data directory.</summary>
    public async Task<(int ExitCode, string Output, string Error)> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Gatehouse.Host.Program.Run(["--data", DataDirectory, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    public async Task AddServerAsync(string name, Uri url, string transport = "streamable-http", params string[] headers)
    {
        var args = new List<string> { "server", "add", name, "--url", url.ToString(), "--transport", transport };
        foreach (var header in headers)
        {
            args.AddRange(["--header", header]);
        }

        var (code, _, error) = await CliAsync([.. args]);
        Assert.True(code == 0, error);
    }

    public async Task<string> CreateGrantAsync(string label, params string[] servers)
    {
        var args = new List<string> { "--json", "grant", "create", "--label", label };
        foreach (var server in servers)
        {
            args.AddRange(["--server", server]);
        }

        var (code, output, error) = await CliAsync([.. args]);
        Assert.True(code == 0, error);
        return JsonNode.Parse(output)!["token"]!.GetValue<string>();
    }

    public async Task<McpClient> ConnectAsync(string server, string token, HttpTransportMode mode = HttpTransportMode.StreamableHttp, McpClientOptions? options = null, string path = "")
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(McpUri(server) + path),
            TransportMode = mode,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}", ["Cookie"] = "session=client-cookie" },
        });
        return await McpClient.CreateAsync(transport, options);
    }

    /// <summary>Applies a policy document through the CLI (optionally attaching it), asserting success.</summary>
    public async Task ApplyPolicyAsync(string name, string document, params string[] attach)
    {
        var file = Path.Combine(DataDirectory, name + ".policy.yaml");
        await File.WriteAllTextAsync(file, document);
        var (code, _, error) = await CliAsync(["policy", "apply", "-f", file, "--name", name, .. attach]);
        Assert.True(code == 0, error);
    }

    /// <summary>Sends one raw JSON-RPC POST.</summary>
    public async Task<HttpResponseMessage> PostAsync(string server, string? token, string json, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, McpUri(server)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        return await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async Task<JsonElement> ReadJsonRpcAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            text = text.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()).Last(l => l.Length > 0);
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The Gatehouse error code (<c>error.data.gatehouseError</c>) of a JSON-RPC error response.</summary>
    public static string? ErrorCode(JsonElement body) => body.GetProperty("error").GetProperty("data").GetProperty("gatehouseError").GetString();

    public const string InitializeBody =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";

    /// <summary>Stops the gateway gracefully (background work such as usage recording is flushed).</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_keepData)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
