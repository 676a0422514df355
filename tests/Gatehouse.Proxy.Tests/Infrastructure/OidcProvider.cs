using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Proxy.Tests.Infrastructure;

/// <summary>
/// npm <c>oidc-provider</c> (tests/e2e/oauth/provider.mjs) as a child process: an authorization server nobody here wrote,
/// with dynamic registration, PKCE, JWT access tokens bound to the resource, rotating refresh tokens and headless consent.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;

    private OidcProvider(Process process, Uri issuer)
    {
        _process = process;
        Issuer = issuer;
        _http = new HttpClient { BaseAddress = issuer, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The issuer (no trailing slash in its string form).</summary>
    public Uri Issuer { get; }

    /// <summary>Starts the provider with the given access-token lifetime.</summary>
    /// <param name="accessTokenTtlSeconds">Access-token lifetime.</param>
    /// <param name="scopes">The resource scopes it offers.</param>
    /// <param name="identityClaims">Also an organisation's identity provider: profile, email and groups claims (<c>--identity-claims</c>).</param>
    public static async Task<OidcProvider> StartAsync(int accessTokenTtlSeconds = 60, string scopes = "mcp:tools mcp:admin", bool identityClaims = false)
    {
        var root = RepositoryRoot();
        var node = Path.Combine(root, "tests", "e2e", "node_modules", ".bin", "node");
        if (!File.Exists(node))
        {
            throw new InvalidOperationException($"Node 22 is not installed at {node}: run tests/e2e/install.sh (./test does it).");
        }

        var start = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = Path.Combine(root, "tests", "e2e"),
        };
        foreach (var arg in new[] { Path.Combine(root, "tests", "e2e", "oauth", "provider.mjs"), "--port", "0", "--access-token-ttl", accessTokenTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--scopes", scopes })
        {
            start.ArgumentList.Add(arg);
        }

        if (identityClaims)
        {
            start.ArgumentList.Add("--identity-claims");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("oidc-provider exited before listening.");
            if (line.StartsWith("listening on ", StringComparison.Ordinal))
            {
                return new OidcProvider(process, new Uri(line["listening on ".Length..].Trim()));
            }
        }
    }

    /// <summary>The provider's counters (<c>GET /_test/stats</c>).</summary>
    public async Task<JsonElement> StatsAsync() => await _http.GetFromJsonAsync<JsonElement>("/_test/stats");

    /// <summary>One counter.</summary>
    public async Task<int> StatAsync(string name) => (await StatsAsync()).GetProperty(name).GetInt32();

    /// <summary>Revokes every grant and token issued so far, so the next refresh gets <c>invalid_grant</c>.</summary>
    public async Task RevokeAllAsync() => (await _http.PostAsync("/_test/revoke-all", null)).EnsureSuccessStatusCode();

    /// <summary>Forgets every dynamically registered client (their next token request gets <c>invalid_client</c>).</summary>
    public async Task ForgetClientsAsync() => (await _http.PostAsync("/_test/forget-clients", null)).EnsureSuccessStatusCode();

    /// <summary>Makes the next <paramref name="count"/> token requests fail with <paramref name="status"/>.</summary>
    public async Task FailTokenEndpointAsync(int count, int status = 503) =>
        (await _http.PostAsync($"/_test/fail-token-endpoint?count={count}&status={status}", null)).EnsureSuccessStatusCode();

    /// <summary>
    /// Describes an account (<c>POST /_test/account</c>: <c>sub</c> plus claims such as <c>name</c>, <c>email</c>, <c>groups</c>)
    /// and makes it the one the next headless login signs in.
    /// </summary>
    public async Task SetAccountAsync(object account) => (await _http.PostAsJsonAsync("/_test/account", account)).EnsureSuccessStatusCode();

    /// <summary>Registers a confidential web client by dynamic registration (client_secret_post); returns its id and secret.</summary>
    public async Task<(string ClientId, string ClientSecret)> RegisterConfidentialClientAsync(Uri redirectUri)
    {
        using var response = await _http.PostAsJsonAsync("/reg", new
        {
            client_name = "Gatehouse sign-in", redirect_uris = new[] { redirectUri.ToString() }, token_endpoint_auth_method = "client_secret_post",
            grant_types = new[] { "authorization_code" }, response_types = new[] { "code" }, application_type = "web",
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Registration at the provider failed: {body}");
        }

        return (body.GetProperty("client_id").GetString()!, body.GetProperty("client_secret").GetString()!);
    }

    /// <summary>Finds the repository root (the folder holding Gatehouse.sln).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gatehouse.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Gatehouse.sln not found above " + AppContext.BaseDirectory);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(2000))
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
