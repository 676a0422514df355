using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Admin.Administration;
using Gatehouse.Identity.Registration;
using Gatehouse.Proxy.Tests.Infrastructure;
using Gatehouse.Storage;
using Gatehouse.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Gatehouse.UpstreamAuth.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Proxy.Tests.Identity;

/// <summary>
/// Client ID Metadata Documents at Gatehouse's authorization server: an MCP client whose client_id is the URL of its own
/// metadata document signs in without registering. The documents are served by a real server on 127.0.0.1:0 (allowed
/// through <c>AllowLoopbackClientMetadata</c>, the option behind <c>serve --allow-loopback-client-metadata</c>).
/// </summary>
public sealed class ClientMetadataDocumentTests
{
    private const string Server = "alpha";
    private const string OtherRedirectUri = "http://127.0.0.1:33420/callback";

    /// <summary>Serves client metadata documents that a test can change between requests, and counts the fetches.</summary>
    private sealed class DocumentServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Dictionary<string, (int Status, string ContentType, string Body, string? CacheControl, string? Location)> _documents = [];
        private readonly Dictionary<string, int> _fetches = [];
        private readonly Dictionary<string, (TaskCompletionSource Arrived, TaskCompletionSource Release)> _holds = [];

        /// <summary>Makes requests for <paramref name="path"/> wait until released; <c>Arrived</c> completes when one is waiting.</summary>
        public (TaskCompletionSource Arrived, TaskCompletionSource Release) Hold(string path)
        {
            var hold = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            lock (_documents)
            {
                _holds["/" + path] = hold;
            }

            return hold;
        }

        private DocumentServer(WebApplication app, Uri baseUri)
        {
            _app = app;
            BaseUri = baseUri;
        }

        public Uri BaseUri { get; }

        public static async Task<DocumentServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            DocumentServer? server = null;
            app.Run(async context =>
            {
                var path = context.Request.Path.Value!;
                (int Status, string ContentType, string Body, string? CacheControl, string? Location) document;
                (TaskCompletionSource Arrived, TaskCompletionSource Release)? hold;
                lock (server!._documents)
                {
                    server._fetches[path] = server._fetches.GetValueOrDefault(path) + 1;
                    document = server._documents.GetValueOrDefault(path, (404, "text/plain", "not found", null, null));
                    hold = server._holds.TryGetValue(path, out var h) ? h : null;
                }

                if (hold is { } held)
                {
                    held.Arrived.TrySetResult();
                    await held.Release.Task.WaitAsync(context.RequestAborted);
                }

                context.Response.StatusCode = document.Status;
                context.Response.ContentType = document.ContentType;
                if (document.CacheControl is { } cacheControl)
                {
                    context.Response.Headers.CacheControl = cacheControl;
                }

                if (document.Location is { } location)
                {
                    context.Response.Headers.Location = location;
                }

                await context.Response.WriteAsync(document.Body);
            });
            await app.StartAsync();
            server = new DocumentServer(app, new Uri(app.Urls.Single().TrimEnd('/') + "/"));
            return server;
        }

        public string Url(string path) => new Uri(BaseUri, path).ToString();

        public string Serve(string path, string body, int status = 200, string contentType = "application/json", string? cacheControl = null, string? location = null)
        {
            lock (_documents)
            {
                _documents["/" + path] = (status, contentType, body, cacheControl, location);
            }

            return Url(path);
        }

        /// <summary>A document that names itself, with the given redirect URIs and extra members.</summary>
        public string ServeClient(string path, string name, string[]? redirectUris = null, string? cacheControl = null, Dictionary<string, object?>? extra = null)
        {
            var document = new Dictionary<string, object?>
            {
                ["client_id"] = Url(path),
                ["client_name"] = name,
                ["redirect_uris"] = redirectUris ?? [OAuthClientDriver.RedirectUri],
                ["grant_types"] = new[] { "authorization_code", "refresh_token" },
                ["response_types"] = new[] { "code" },
                ["token_endpoint_auth_method"] = "none",
            };
            foreach (var (key, value) in extra ?? [])
            {
                document[key] = value;
            }

            return Serve(path, JsonSerializer.Serialize(document), cacheControl: cacheControl);
        }

        public int Fetches(string path)
        {
            lock (_documents)
            {
                return _fetches.GetValueOrDefault("/" + path);
            }
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }

    private sealed class World(GatewayHarness gateway, TestUpstream upstream, DocumentServer documents, FakeTimeProvider clock) : IAsyncDisposable
    {
        public GatewayHarness Gateway { get; } = gateway;

        public OAuthClientDriver Driver { get; } = new(gateway);

        public DocumentServer Documents { get; } = documents;

        public FakeTimeProvider Clock { get; } = clock;

        public async ValueTask DisposeAsync()
        {
            Driver.Dispose();
            await Gateway.DisposeAsync();
            await upstream.DisposeAsync();
            await Documents.DisposeAsync();
        }
    }

    private static async Task<World> StartAsync(Action<Gatehouse.Identity.AuthorizationServerOptions>? configure = null)
    {
        var upstream = await TestUpstream.StartAsync(UpstreamMode.StreamableStateful);
        var documents = await DocumentServer.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var gateway = await GatewayHarness.StartAsync(authorizationServer: o =>
        {
            o.AllowLoopbackClientMetadata = true;
            o.ClientMetadataClock = clock;
            configure?.Invoke(o);
        });
        await AdminCredentials.EnsureAsync(new GatehouseStorage(gateway.DataDirectory), TimeProvider.System);
        await gateway.AddServerAsync(Server, upstream.McpUri);
        return new World(gateway, upstream, documents, clock);
    }

    [Fact]
    public async Task A_client_identified_by_its_metadata_document_signs_in_without_registering_and_calls_a_tool()
    {
        await using var world = await StartAsync();
        var (gateway, driver, documents) = (world.Gateway, world.Driver, world.Documents);
        var metadata = await gateway.Http.GetFromJsonAsync<JsonElement>(".well-known/oauth-authorization-server");
        Assert.True(metadata.GetProperty("client_id_metadata_document_supported").GetBoolean());

        var clientId = documents.ServeClient("clients/editor.json", "Metadata Editor");
        var (verifier, challenge) = OAuthClientDriver.Pkce();
        var response = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        response = await driver.SignInAsync(response.Headers.Location!);
        response = await driver.Browser.GetAsync(response.Headers.Location);

        // The consent page names the client, where codes go, and that the client is whoever runs the document's host.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("Metadata Editor", page, StringComparison.Ordinal);
        Assert.Contains("<code>127.0.0.1:33418</code>", page, StringComparison.Ordinal);
        Assert.Contains($"Identified by</dt><dd>its web site <code>{documents.BaseUri.Authority}</code>", page, StringComparison.Ordinal);

        var fields = OAuthClientDriver.HiddenFields(page);
        fields.Add(KeyValuePair.Create("consent", "accept"));
        response = await driver.Browser.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var code = OAuthClientDriver.Query(response.Headers.Location!, "code")!;

        var (status, tokens) = await driver.ExchangeAsync(clientId, code, verifier, driver.Resource(Server));
        Assert.True(status == HttpStatusCode.OK, tokens.ToString());
        await using (var client = await gateway.ConnectAsync(Server, tokens.GetProperty("access_token").GetString()!))
        {
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hello via a metadata document" });
            Assert.NotEqual(true, result.IsError);
            Assert.Contains("hello via a metadata document", JsonSerializer.Serialize(result.Content), StringComparison.Ordinal);
        }

        (status, var refreshed) = await driver.RefreshAsync(clientId, tokens.GetProperty("refresh_token").GetString()!, driver.Resource(Server));
        Assert.True(status == HttpStatusCode.OK, refreshed.ToString());

        // Within its cache lifetime the document is not fetched again; the approval is remembered as for any client.
        (_, challenge) = OAuthClientDriver.Pkce();
        var again = await driver.AuthorizeAsync(clientId, driver.Resource(Server), challenge);
        Assert.NotNull(OAuthClientDriver.Query(again, "code"));
        Assert.Equal(1, documents.Fetches("clients/editor.json"));
    }

    /// <summary>Documents that must be refused, and a phrase the error must contain.</summary>
    public static TheoryData<string, string> UnusableDocuments => new()
    {
        { "mismatched-id", "differs from the URL it was fetched from" },
        { "missing", "HTTP 404" },
        { "too-large", "larger than 5,120 bytes" },
        { "html", "not application/json" },
        { "secret-method", "needs a shared secret" },
        { "bad-redirect", "is not loopback" },
        { "redirected", "redirected elsewhere" },
        { "private-address", "is a private address" },
        { "metadata-service", "link-local" },
    };

    [Theory]
    [MemberData(nameof(UnusableDocuments))]
    public async Task An_unusable_document_is_refused_with_its_reason_and_the_browser_is_never_redirected(string kind, string reason)
    {
        await using var world = await StartAsync();
        var (driver, documents) = (world.Driver, world.Documents);
        var clientId = kind switch
        {
            "mismatched-id" => documents.Serve("clients/mismatched.json", JsonSerializer.Serialize(
                new { client_id = documents.Url("clients/genuine.json"), client_name = "Impostor", redirect_uris = new[] { OAuthClientDriver.RedirectUri } })),
            "missing" => documents.Url("clients/missing.json"),
            "too-large" => documents.ServeClient("clients/large.json", "Large", extra: new() { ["padding"] = new string('x', ClientMetadataDocumentFetcher.MaxDocumentBytes) }),
            "html" => documents.Serve("clients/page.json", $"<html>{documents.Url("clients/page.json")}</html>", contentType: "text/html"),
            "secret-method" => documents.ServeClient("clients/secret.json", "Secret", extra: new() { ["token_endpoint_auth_method"] = "client_secret_basic" }),
            "bad-redirect" => documents.ServeClient("clients/bad-redirect.json", "Bad redirect", redirectUris: ["http://evil.example.com/callback"]),
            "redirected" => ServeRedirected(documents),
            "private-address" => "https://10.0.0.1/clients/app.json",
            "metadata-service" => "https://169.254.169.254/latest/meta-data/client.json",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var (verifier, challenge) = OAuthClientDriver.Pkce();
        using var response = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Null(response.Headers.Location);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_client", body, StringComparison.Ordinal);
        Assert.Contains(reason, WebUtility.HtmlDecode(body), StringComparison.Ordinal);

        // The token endpoint refuses the same client the same way.
        var (status, error) = await driver.ExchangeAsync(clientId, "no-code", verifier, driver.Resource(Server));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_client", error.GetProperty("error").GetString());
        Assert.Contains(reason, error.GetProperty("error_description").GetString(), StringComparison.Ordinal);

        // A valid document naming the URL that redirects to it: only the redirect is wrong.
        static string ServeRedirected(DocumentServer documents)
        {
            var moved = documents.Url("clients/moved.json");
            documents.ServeClient("clients/target.json", "Moved", extra: new() { ["client_id"] = moved });
            return documents.Serve("clients/moved.json", "", status: 302, location: documents.Url("clients/target.json"));
        }
    }

    [Fact]
    public async Task Without_the_loopback_option_a_document_on_this_machine_is_refused_before_any_request()
    {
        await using var documents = await DocumentServer.StartAsync();
        var url = documents.ServeClient("clients/editor.json", "Local");
        using var fetcher = new ClientMetadataDocumentFetcher(
            new Gatehouse.Identity.AuthorizationServerOptions(), NullLogger<ClientMetadataDocumentFetcher>.Instance, NullLogger<GuardedHttpClient>.Instance);

        Assert.Contains("not an https one", fetcher.CheckUrl(url), StringComparison.Ordinal);
        Assert.Contains("needs a path", fetcher.CheckUrl("https://client.example.com/"), StringComparison.Ordinal);
        Assert.Contains("needs a path", fetcher.CheckUrl("https://client.example.com/app.json#x"), StringComparison.Ordinal);
        var https = url.Replace("http://", "https://", StringComparison.Ordinal);
        Assert.Null(fetcher.CheckUrl(https));

        var result = await fetcher.FetchAsync(https, CancellationToken.None);
        Assert.Null(result.Document);
        Assert.Contains("loopback", result.Problem, StringComparison.Ordinal);
        Assert.Equal(0, documents.Fetches("clients/editor.json"));
    }

    [Fact]
    public async Task A_redirect_uri_the_document_does_not_list_is_refused_without_redirecting()
    {
        await using var world = await StartAsync();
        var (driver, documents) = (world.Driver, world.Documents);
        var clientId = documents.ServeClient("clients/editor.json", "Metadata Editor");

        var (_, challenge) = OAuthClientDriver.Pkce();
        using var response = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge, redirectUri: OtherRedirectUri));
        Assert.Null(response.Headers.Location);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("redirect_uri", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_document_that_is_slow_to_answer_holds_up_only_its_own_client_not_another_clients_sign_in()
    {
        await using var world = await StartAsync();
        var (driver, documents) = (world.Driver, world.Documents);
        var slowClient = documents.ServeClient("clients/slow.json", "Slow Client");
        var (arrived, release) = documents.Hold("clients/slow.json");
        var fastClient = documents.ServeClient("clients/fast.json", "Fast Client");

        // A sign-in of the slow client: Gatehouse is now fetching its document, which does not answer yet.
        using var other = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = world.Gateway.BaseUri };
        var (_, slowChallenge) = OAuthClientDriver.Pkce();
        var slowSignIn = other.GetAsync(driver.AuthorizeUrl(slowClient, driver.Resource(Server), slowChallenge));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Meanwhile another client's whole sign-in (document fetch, login, consent, code) goes through.
        var (verifier, challenge) = OAuthClientDriver.Pkce();
        var location = await driver.AuthorizeAsync(fastClient, driver.Resource(Server), challenge);
        Assert.False(slowSignIn.IsCompleted, "the other client's sign-in waited for the slow document");
        var (status, tokens) = await driver.ExchangeAsync(fastClient, OAuthClientDriver.Query(location, "code")!, verifier, driver.Resource(Server));
        Assert.True(status == HttpStatusCode.OK, tokens.ToString());

        // Released, the slow client's sign-in goes on to the login page.
        release.SetResult();
        using var slow = await slowSignIn;
        Assert.Equal(HttpStatusCode.Redirect, slow.StatusCode);
        Assert.Contains("/oauth2/login", slow.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_changed_document_takes_effect_after_its_cache_lifetime_and_new_redirect_hosts_need_a_new_approval()
    {
        await using var world = await StartAsync();
        var (driver, documents, clock) = (world.Driver, world.Documents, world.Clock);
        const string path = "clients/editor.json";
        var clientId = documents.ServeClient(path, "Metadata Editor", cacheControl: "max-age=600");
        var (_, challenge) = OAuthClientDriver.Pkce();
        await driver.AuthorizeAsync(clientId, driver.Resource(Server), challenge);

        documents.ServeClient(path, "Renamed Editor", redirectUris: [OtherRedirectUri], cacheControl: "max-age=600");

        // Still within the ten minutes the document may be cached: the old redirect URIs apply.
        clock.Advance(TimeSpan.FromMinutes(9));
        using (var early = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge, redirectUri: OtherRedirectUri)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, early.StatusCode);
            Assert.Null(early.Headers.Location);
        }

        Assert.Equal(1, documents.Fetches(path));

        // After it: fetched again, the new redirect URI is accepted, and the person is asked again, shown the new name and host.
        clock.Advance(TimeSpan.FromMinutes(2));
        using var late = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge, redirectUri: OtherRedirectUri));
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        var page = await late.Content.ReadAsStringAsync();
        Assert.Contains("Renamed Editor", page, StringComparison.Ordinal);
        Assert.Contains("<code>127.0.0.1:33420</code>", page, StringComparison.Ordinal);
        Assert.Equal(2, documents.Fetches(path));

        using var old = await driver.Browser.GetAsync(driver.AuthorizeUrl(clientId, driver.Resource(Server), challenge));
        Assert.Equal(HttpStatusCode.BadRequest, old.StatusCode);
    }

    [Theory]
    [InlineData(null, 60)]
    [InlineData("max-age=60", 5)]
    [InlineData("no-store", 5)]
    [InlineData("max-age=7200", 120)]
    [InlineData("public, max-age=604800", 1440)]
    public void Cache_headers_set_the_document_lifetime_within_five_minutes_and_a_day(string? cacheControl, int minutes)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        if (cacheControl is not null)
        {
            response.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        Assert.Equal(TimeSpan.FromMinutes(minutes), ClientMetadataDocumentFetcher.Lifetime(response));
    }

    [Fact]
    public async Task NewDocumentClients_OverTheRatePerAddress_AreRefusedBeforeAnyFetch_AndStoreNothing()
    {
        await using var world = await StartAsync(o => o.RegistrationsPerWindow = 2);
        string[] paths = ["first/client.json", "second/client.json", "third/client.json"];
        var ids = paths.Select(p => world.Documents.ServeClient(p, p)).ToArray();

        foreach (var id in ids.Take(2))
        {
            var (_, answer) = await world.Driver.TokenAsync(("grant_type", "authorization_code"), ("client_id", id), ("code", "nope"), ("code_verifier", "nope"), ("redirect_uri", OAuthClientDriver.RedirectUri));
            Assert.NotEqual("temporarily_unavailable", answer.GetProperty("error").GetString());
        }

        var (status, refused) = await world.Driver.TokenAsync(("grant_type", "authorization_code"), ("client_id", ids[2]), ("code", "nope"), ("code_verifier", "nope"), ("redirect_uri", OAuthClientDriver.RedirectUri));
        Assert.Equal("temporarily_unavailable", refused.GetProperty("error").GetString());
        Assert.Contains("Too many new clients", refused.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, world.Documents.Fetches(paths[2]));
        Assert.Equal(1, world.Documents.Fetches(paths[0]));
        Assert.NotEqual(HttpStatusCode.OK, status);
    }
}
