using System.Net;
using System.Text;
using Gatehouse.Identity.Organisation;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Identity.Interaction;

/// <summary>The HTML of the login and consent pages: small, self-contained, no script.</summary>
internal static class InteractionPages
{
    /// <summary>Headers every interaction page carries: no framing (clickjacking), no caching, no referrer leak of the code.</summary>
    public static void Harden(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        response.Headers.XFrameOptions = "DENY";
        response.Headers.CacheControl = "no-store";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XContentTypeOptions = "nosniff";
    }

    public static IResult Login(
        HttpResponse response, string returnUrl, string antiforgeryField, string antiforgeryToken, string? error, string? providerName, string? signedInAs) =>
        Page(response, "Sign in to Gatehouse", $"""
            <h1>Sign in to Gatehouse</h1>
            {(signedInAs is null ? "" : $"<p class=\"signed-in\">You are signed in as <strong>{E(signedInAs)}</strong>.</p>")}
            {(error is null ? "" : $"<p class=\"error\">{E(error)}</p>")}
            {(providerName is null ? "" : $"<p><a class=\"provider\" href=\"{E(OrganisationSignIn.StartPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl))}\">Sign in with {E(providerName)}</a></p><p>Or, for the bootstrap admin or a local user:</p>")}
            <p>Paste the admin token (<code>gta_…</code>, in <code>admin.token</code> in the data directory).</p>
            <form method="post" action="/oauth2/login">
              <input type="hidden" name="{E(antiforgeryField)}" value="{E(antiforgeryToken)}">
              <input type="hidden" name="returnUrl" value="{E(returnUrl)}">
              <label>Admin token <input type="password" name="token" autocomplete="off" autofocus required></label>
              <button type="submit">Sign in</button>
            </form>
            """, error is null ? 200 : 401);

    public static IResult Consent(
        HttpResponse response, string user, string client, string redirectHost, string server, IEnumerable<string> scopes,
        IEnumerable<KeyValuePair<string, string>> hidden, string antiforgeryField, string antiforgeryToken, string? identifiedByHost = null)
    {
        var fields = new StringBuilder();
        foreach (var (name, value) in hidden)
        {
            fields.Append(CultureInvariant($"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">\n"));
        }

        var scopeList = string.Join("", scopes.Select(s => $"<li><code>{E(s)}</code></li>"));
        return Page(response, "Allow access?", $"""
            <h1>Allow <em>{E(client)}</em> to use Gatehouse as {E(user)}?</h1>
            <dl>
              <dt>Client</dt><dd>{E(client)}</dd>
            {(identifiedByHost is null ? "" : $"  <dt>Identified by</dt><dd>its web site <code>{E(identifiedByHost)}</code> (the name above is what that site claims; allow only if you trust <code>{E(identifiedByHost)}</code>)</dd>\n")}
              <dt>Returns to</dt><dd><code>{E(redirectHost)}</code></dd>
              <dt>Server</dt><dd><code>{E(server)}</code></dd>
              <dt>Scopes</dt><dd><ul>{scopeList}</ul></dd>
            </dl>
            <p>The client will get short-lived tokens for this server only. You can withdraw this approval later.</p>
            <form method="post" action="/oauth2/authorize">
              <input type="hidden" name="{E(antiforgeryField)}" value="{E(antiforgeryToken)}">
            {fields}
              <button type="submit" name="consent" value="accept">Allow</button>
              <button type="submit" name="consent" value="deny">Deny</button>
            </form>
            """, 200);
    }

    public static IResult Account(HttpResponse response, AccountOverview overview, string? notice, string antiforgeryField, string antiforgeryToken, DateTimeOffset now)
    {
        string Button(string action, string id, string label) => $"""
            <form method="post" action="/account" class="inline">
              <input type="hidden" name="{E(antiforgeryField)}" value="{E(antiforgeryToken)}">
              <input type="hidden" name="action" value="{E(action)}"><input type="hidden" name="id" value="{E(id)}">
              <button type="submit">{E(label)}</button>
            </form>
            """;
        static string When(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + "Z" : "—";

        var consents = overview.Consents.Count == 0
            ? "<p>You have not approved any client.</p>"
            : "<table><tr><th>Client</th><th>Server</th><th>Scopes</th><th>Approved</th><th></th></tr>"
              + string.Concat(overview.Consents.Select(c =>
                  $"<tr><td>{E(c.Client)}<br><small><code>{E(c.ClientId)}</code></small></td><td><code>{E(c.Server)}</code></td><td>{E(string.Join(' ', c.Scopes))}</td><td>{When(c.ApprovedAt)}</td><td>{Button("revoke-consent", c.Id, "Withdraw")}</td></tr>"))
              + "</table>";
        var grants = overview.Grants.Count == 0
            ? "<p>You own no grant tokens.</p>"
            : "<table><tr><th>Grant</th><th>Servers</th><th>Status</th><th>Expires</th><th>Last used</th><th></th></tr>"
              + string.Concat(overview.Grants.Select(g =>
              {
                  var status = g.RevokedAt is not null ? "revoked" : g.ExpiresAt is { } e && e <= now ? "expired" : "active";
                  var action = status == "active" ? Button("revoke-grant", g.Id.ToString(), "Revoke") : "";
                  return $"<tr><td>{E(g.Label)}</td><td>{E(string.Join(", ", g.Servers.Select(s => s.ServerName).Order(StringComparer.Ordinal)))}</td><td>{status}</td><td>{When(g.ExpiresAt)}</td><td>{When(g.LastUsedAt)}</td><td>{action}</td></tr>";
              }))
              + "</table>";
        var connections = overview.Connections.Count == 0
            ? "<p>No server needs your own account.</p>"
            : "<table><tr><th>Server</th><th>Status</th><th>Provider</th><th>Scopes</th><th></th></tr>"
              + string.Concat(overview.Connections.Select(c =>
              {
                  var connect = c.ConnectUrl is null ? "" : $"<a href=\"{E(c.ConnectUrl)}\">{(c.Status == "connected" ? "Reconnect" : "Connect")}</a> ";
                  var disconnect = c.Status is "connected" or "needs_reauth" ? Button("disconnect", c.Server, "Disconnect") : "";
                  return $"<tr><td><code>{E(c.Server)}</code></td><td>{E(c.Status)}</td><td>{E(c.Issuer ?? "—")}</td><td>{E(c.Scopes ?? "—")}</td><td>{connect}{disconnect}</td></tr>";
              }))
              + "</table>";
        var groups = overview.Groups.Count == 0 ? "" : $"<p>Groups: {E(string.Join(", ", overview.Groups))}</p>";
        return Page(response, "Your Gatehouse access", $"""
            <h1>{E(overview.User.DisplayName)}</h1>
            {groups}
            {(notice is null ? "" : $"<p class=\"notice\">{E(notice)}</p>")}
            <h2>Clients you approved</h2>
            {consents}
            <h2>Your grant tokens</h2>
            {grants}
            <h2>Your upstream accounts</h2>
            {connections}
            """, 200);
    }
    /// <summary>A sign-in that cannot go on, and why.</summary>
    public static IResult Refused(HttpResponse response, int status, string message) =>
        Page(response, "Cannot sign in", $"""
            <h1>Cannot sign in</h1>
            <p class="error">{E(message)}</p>
            <p><a href="{E(LoginScheme.LoginPath)}">Back to the login page</a></p>
            """, status);

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    private static IResult Page(HttpResponse response, string title, string body, int status)
    {
        Harden(response);
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>{E(title)}</title>
            <style>body{"{"}font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem{"}"} .error{"{"}color:#b00{"}"} .notice{"{"}color:#060{"}"} table{"{"}border-collapse:collapse{"}"} td,th{"{"}padding:.25rem .5rem;text-align:left;vertical-align:top{"}"} form.inline{"{"}display:inline{"}"} dt{"{"}font-weight:600{"}"} button{"{"}margin-right:.5rem{"}"}</style>
            </head><body>
            {body}
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
