using System.CommandLine;
using System.Diagnostics;
using Gatehouse.Admin.Administration;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Flows;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse server add|list|show|remove|connect|disconnect</c>.</summary>
internal static class ServerCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var server = new Command("server", "Register and inspect upstream MCP servers.");

        var name = new Argument<string>("name") { Description = "The server's name (a slug; clients use /mcp/<name>)." };
        var url = new Option<string>("--url") { Description = "The upstream MCP endpoint URL.", Required = true };
        var transport = new Option<string>("--transport") { Description = "auto, streamable-http or sse.", DefaultValueFactory = _ => "auto" };
        var header = new Option<string[]>("--header") { Description = "A header injected upstream, 'Name: value' (stored encrypted). Repeatable." };
        var auth = new Option<string>("--auth") { Description = "How Gatehouse authenticates upstream: none, headers (implied by --header) or oauth." };
        var grantType = new Option<string>("--oauth-grant") { Description = "oauth: authorization_code (a person connects once in a browser; default) or client_credentials (headless)." };
        var clientId = new Option<string>("--client-id") { Description = "oauth: a client id registered for Gatehouse at the upstream's authorization server (else CIMD or dynamic registration)." };
        var clientSecretEnv = new Option<string>("--client-secret-env") { Description = "oauth: the NAME of an environment variable holding the client secret (kept out of shell history; stored encrypted)." };
        var privateKeyFile = new Option<string>("--private-key-file") { Description = "oauth: a PEM private key file for private_key_jwt client authentication (stored encrypted)." };
        var keyId = new Option<string>("--key-id") { Description = "oauth: the kid of --private-key-file's key." };
        var authMethod = new Option<string>("--token-auth-method") { Description = "oauth: client_secret_basic, client_secret_post, private_key_jwt or none (chosen from the credentials when omitted)." };
        var scopes = new Option<string>("--scopes") { Description = "oauth: scopes to request, space-separated (else taken from the upstream's challenge or metadata)." };
        var allowLoopback = new Option<bool>("--allow-loopback-auth") { Description = "oauth: let discovery and token requests reach loopback addresses over plain HTTP (local development and tests only)." };
        var assumePkce = new Option<bool>("--assume-pkce") { Description = "oauth: proceed when the authorization server does not advertise PKCE S256 (some providers omit it)." };
        var perUser = new Option<bool>("--per-user") { Description = "oauth: each Gatehouse user connects their own upstream account (signed-in users only; grant tokens are refused)." };
        var forwardIdentity = new Option<bool>("--forward-identity-headers")
        {
            Description = "Send the client's Forwarded, X-Forwarded-* and X-Real-IP headers upstream as received (dropped by default, like every header outside the allow-list).",
        };
        var add = new Command("add", "Register an upstream server.")
        {
            name, url, transport, header, auth, grantType, clientId, clientSecretEnv, privateKeyFile, keyId, authMethod, scopes, allowLoopback, assumePkce, perUser,
            forwardIdentity,
        };
        add.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var raw in parse.GetValue(header) ?? [])
            {
                var colon = raw.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    cli.Error.WriteLine($"error: --header '{raw[..Math.Min(raw.Length, 40)]}…' must look like 'Name: value'.");
                    return 2;
                }

                headers.Add(new(raw[..colon].Trim(), raw[(colon + 1)..].Trim()));
            }

            OAuthSpec? oauth = null;
            var authMode = parse.GetValue(auth);
            if (authMode is not (null or "none" or "headers" or "oauth"))
            {
                cli.Error.WriteLine($"error: --auth must be none, headers or oauth, not '{authMode}'.");
                return 2;
            }

            if (authMode == "oauth")
            {
                string? secret = null;
                if (parse.GetValue(clientSecretEnv) is { } variable && (secret = cli.ReadSecret(variable, null, clientSecretEnv.Name, "")) is null)
                {
                    return 2;
                }

                string? pem = null;
                if (parse.GetValue(privateKeyFile) is { } keyPath)
                {
                    if (!File.Exists(keyPath))
                    {
                        cli.Error.WriteLine($"error: --private-key-file '{keyPath}' does not exist.");
                        return 2;
                    }

                    pem = await File.ReadAllTextAsync(keyPath, ct);
                }

                oauth = new OAuthSpec(parse.GetValue(grantType), parse.GetValue(clientId), secret, pem, parse.GetValue(keyId), parse.GetValue(authMethod),
                    parse.GetValue(scopes), parse.GetValue(allowLoopback), parse.GetValue(assumePkce), parse.GetValue(perUser));
            }

            var spec = new ServerSpec(parse.GetValue(name)!, parse.GetValue(url)!, parse.GetValue(transport), headers, OAuth: oauth,
                ForwardIdentityHeaders: parse.GetValue(forwardIdentity));
            var result = await cli.WithAdministrationAsync(a => a.AddServerAsync(spec, "cli", ct), ct);
            return cli.Report(result, v => cli.Output.WriteLine(v.Auth == "oauth"
                ? $"Added server '{v.Name}' → {v.Url} ({v.Transport}, OAuth). Connect it once: gatehouse server connect {v.Name}"
                : $"Added server '{v.Name}' → {v.Url} ({v.Transport}). Create a grant: gatehouse grant create --server {v.Name} --label <name>"));
        });

        var list = new Command("list", "List registered servers.");
        list.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var servers = await cli.WithAdministrationAsync(a => a.ListServersAsync(ct), ct);
            if (cli.Json)
            {
                cli.WriteJson(servers);
            }
            else
            {
                cli.Table(["name", "url", "transport", "auth", "connection", "enabled"], servers.Select(s => (IReadOnlyList<string>)
                    [s.Name, s.Url, s.Transport, s.Auth, s.Connection?.Status ?? "-", s.Enabled ? "yes" : "no"]));
            }

            return 0;
        });

        var showName = new Argument<string>("name") { Description = "The server's name." };
        var show = new Command("show", "Show one server (header names only; values are never shown).") { showName };
        show.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.GetServerAsync(parse.GetValue(showName)!, ct), ct);
            return cli.Report(result, v =>
            {
                cli.Output.WriteLine($"name:       {v.Name}");
                cli.Output.WriteLine($"url:        {v.Url}");
                cli.Output.WriteLine($"transport:  {v.Transport}");
                cli.Output.WriteLine($"auth:       {v.Auth}{(v.HeaderNames.Count > 0 ? " (" + string.Join(", ", v.HeaderNames) + ")" : "")}");
                cli.Output.WriteLine($"enabled:    {(v.Enabled ? "yes" : "no")}");
                if (v.ForwardIdentityHeaders)
                {
                    cli.Output.WriteLine("identity headers: forwarded (Forwarded, X-Forwarded-*, X-Real-IP as the client sent them)");
                }

                if (v.OAuth is { } o)
                {
                    cli.Output.WriteLine($"oauth:      grant {o.Grant}{(o.ClientId is null ? ", client registered automatically" : $", client id {o.ClientId}")}{(o.HasClientSecret ? ", secret stored" : "")}{(o.HasPrivateKey ? ", private key stored" : "")}{(o.Scopes is null ? "" : $", scopes {o.Scopes}")}{(o.AllowLoopback ? ", loopback allowed" : "")}{(o.PerUser ? ", per-user connections" : "")}");
                }

                if (v.Connection is { } c)
                {
                    cli.Output.WriteLine($"connection: {c.Status}{(c.LastError is null ? "" : $" ({c.LastError})")}");
                    cli.Output.WriteLine($"issuer:     {c.Issuer ?? "-"}");
                    cli.Output.WriteLine($"scopes:     {c.Scopes ?? "-"}");
                    cli.Output.WriteLine($"client:     {(c.ClientId is null ? "-" : $"{c.ClientId} ({c.ClientSource})")}");
                    cli.Output.WriteLine($"expires:    {CliContext.Time(c.AccessTokenExpiresAt)}{(c.HasRefreshToken ? " (refresh token stored)" : c.Status == "connected" ? " (no refresh token)" : "")}");
                    cli.Output.WriteLine($"refreshed:  {CliContext.Time(c.LastRefreshAt)}");
                    cli.Output.WriteLine($"connected:  {CliContext.Time(c.ConnectedAt)}");
                }

                cli.Output.WriteLine($"created:    {CliContext.Time(v.CreatedAt)}");
                cli.Output.WriteLine($"updated:    {CliContext.Time(v.UpdatedAt)}");
            });
        });

        var removeName = new Argument<string>("name") { Description = "The server's name." };
        var remove = new Command("remove", "Remove a server; grants lose access to it.") { removeName };
        remove.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var serverName = parse.GetValue(removeName)!;

            // Stored upstream tokens are revoked at the provider first: deleting the server must not leave a live grant behind.
            var revoked = await cli.WithConnectFlowsAsync(null, async (flows, _) =>
                await flows.FindServerAsync(serverName, ct) is { AuthMode: UpstreamAuthMode.OAuth } definition
                    ? await flows.DisconnectAsync(definition, ConnectionOwner.Shared(definition.Id), "cli", ct)
                    : null, ct);
            if (revoked is not null && !cli.Json)
            {
                cli.Output.WriteLine($"Revoked the upstream connection first: {revoked.Detail}.");
            }

            var result = await cli.WithAdministrationAsync(a => a.RemoveServerAsync(serverName, "cli", ct), ct);
            return cli.Report(result, v => cli.Output.WriteLine($"Removed server '{v.Name}'."));
        });

        var connectName = new Argument<string>("name") { Description = "The server's name." };
        var open = new Option<bool>("--open") { Description = "Open the connect link in the browser ($BROWSER or xdg-open)." };
        var connectScopes = new Option<string>("--scopes") { Description = "Scopes to request this time, space-separated (overrides the server's and any pending step-up)." };
        var publicUrl = new Option<string>("--public-url") { Description = "Gatehouse's public URL (default: the one the running gateway recorded)." };
        var wait = new Option<bool>("--wait") { Description = "Wait until the link has been used (or expired) and report the result; exit 1 unless connected." };
        var connect = new Command("connect", "Connect an OAuth server once: prints a Gatehouse link to open in a browser (client_credentials servers connect at once).")
        {
            connectName, open, connectScopes, publicUrl, wait,
        };
        connect.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            Uri? baseUrl = null;
            if (parse.GetValue(publicUrl) is { } raw && (!Uri.TryCreate(raw, UriKind.Absolute, out baseUrl) || baseUrl.Scheme is not ("http" or "https")))
            {
                cli.Error.WriteLine($"error: --public-url '{raw}' is not an absolute http(s) URL.");
                return 2;
            }

            return await cli.WithConnectFlowsAsync(baseUrl, async (flows, _) =>
            {
                var serverName = parse.GetValue(connectName)!;
                var definition = await flows.FindServerAsync(serverName, ct);
                if (definition is null)
                {
                    cli.Error.WriteLine($"error: No server '{serverName}'. 'gatehouse server list' shows what exists.");
                    return 3;
                }

                if (definition.OAuth?.PerUser == true)
                {
                    // A shared connection would never be used on a per-user server: say what happens instead.
                    cli.Error.WriteLine($"error: Server '{serverName}' uses per-user connections: each person connects their own account, through the link Gatehouse returns when their client first calls '{serverName}' (URL elicitation, or the link in the error message). There is no shared connection to make.");
                    return 1;
                }

                try
                {
                    var owner = ConnectionOwner.Shared(definition.Id);
                    if (definition.OAuth?.Grant == UpstreamOAuthGrant.ClientCredentials)
                    {
                        var report = await flows.ConnectWithClientCredentialsAsync(definition, owner, "cli", parse.GetValue(connectScopes), ct);
                        if (cli.Json)
                        {
                            cli.WriteJson(report);
                        }
                        else
                        {
                            cli.Output.WriteLine($"Connected '{report.Server}' with the client_credentials grant at {report.Issuer} (scopes: {report.Scopes ?? "none named"}; token expires {CliContext.Time(report.ExpiresAt)}).");
                        }

                        return 0;
                    }

                    var start = await flows.StartAsync(definition, owner, "cli", parse.GetValue(connectScopes), ct);
                    if (cli.Json)
                    {
                        cli.WriteJson(new { connectUrl = start.ConnectUrl, expiresAt = start.ExpiresAt, issuer = start.Issuer, scopes = start.Scopes, clientSource = start.ClientSource });
                    }
                    else
                    {
                        cli.Output.WriteLine($"Open this link to connect '{serverName}' (single use, valid until {CliContext.Time(start.ExpiresAt)}):");
                        cli.Output.WriteLine(start.ConnectUrl);
                        cli.Output.WriteLine($"It leads to {start.Issuer} (scopes: {start.Scopes ?? "none named"}). 'gatehouse server show {serverName}' shows the result.");
                    }

                    if (parse.GetValue(open))
                    {
                        OpenBrowser(start.ConnectUrl, cli);
                    }

                    if (!parse.GetValue(wait))
                    {
                        return 0;
                    }

                    var outcome = await flows.WaitAsync(start.ConnectUrl, TimeSpan.FromSeconds(1), ct);
                    if (outcome == "connected")
                    {
                        cli.Error.WriteLine($"Connected '{serverName}'.");
                        return 0;
                    }

                    cli.Error.WriteLine(outcome is null ? "error: The link expired without being used. Run the command again." : $"error: {outcome}");
                    return 1;
                }
                catch (ConnectException ex)
                {
                    cli.Error.WriteLine($"error: {ex.Message}");
                    return 1;
                }
            }, ct);
        });

        var disconnectName = new Argument<string>("name") { Description = "The server's name." };
        var disconnect = new Command("disconnect", "Revoke the server's upstream tokens at the provider (RFC 7009, where offered) and delete them here.") { disconnectName };
        disconnect.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            return await cli.WithConnectFlowsAsync(null, async (flows, _) =>
            {
                var serverName = parse.GetValue(disconnectName)!;
                var definition = await flows.FindServerAsync(serverName, ct);
                if (definition is null)
                {
                    cli.Error.WriteLine($"error: No server '{serverName}'. 'gatehouse server list' shows what exists.");
                    return 3;
                }

                var report = await flows.DisconnectAsync(definition, ConnectionOwner.Shared(definition.Id), "cli", ct);
                if (report is null)
                {
                    cli.Error.WriteLine($"error: Server '{serverName}' has no stored connection; nothing to disconnect.");
                    return 1;
                }

                if (cli.Json)
                {
                    cli.WriteJson(report);
                }
                else
                {
                    cli.Output.WriteLine($"Disconnected '{serverName}': tokens deleted here; at the provider: {report.Detail}.");
                }

                return 0;
            }, ct);
        });

        server.Subcommands.Add(add);
        server.Subcommands.Add(list);
        server.Subcommands.Add(show);
        server.Subcommands.Add(remove);
        server.Subcommands.Add(connect);
        server.Subcommands.Add(disconnect);
        return server;
    }

    /// <summary>Opens a URL in the user's browser without a shell: $BROWSER, else xdg-open.</summary>
    private static void OpenBrowser(Uri url, CliContext cli)
    {
        var browser = Environment.GetEnvironmentVariable("BROWSER") is { Length: > 0 } configured ? configured : "xdg-open";
        try
        {
            var start = new ProcessStartInfo(browser) { UseShellExecute = false };
            start.ArgumentList.Add(url.ToString());
            using var process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            cli.Error.WriteLine($"Could not start '{browser}'; open the link yourself.");
        }
    }
}
