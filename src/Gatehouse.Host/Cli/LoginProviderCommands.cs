using System.CommandLine;
using Gatehouse.Admin.Administration;
using Gatehouse.Identity.Organisation;
using Gatehouse.UpstreamAuth.Connections;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse login-provider set|show|remove</c>: the organisation's OpenID Connect identity provider.</summary>
internal static class LoginProviderCommands
{
    private const string InForce = "In force for the next sign-in on running gateways (no restart needed).";

    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var command = new Command("login-provider", "The organisation's OpenID Connect identity provider that people sign in to Gatehouse with.");

        var issuer = new Option<string>("--issuer") { Description = "The provider's issuer URL (https).", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "Gatehouse's client id at the provider.", Required = true };
        var secretEnv = new Option<string>("--client-secret-env") { Description = "The NAME of an environment variable holding the client secret (stored encrypted)." };
        var secretFile = new Option<string>("--client-secret-file") { Description = "A file holding the client secret (stored encrypted)." };
        var groupsClaim = new Option<string>("--groups-claim") { Description = $"The claim listing the person's groups (default '{GatewayAdministration.DefaultGroupsClaim}')." };
        var scopes = new Option<string>("--scopes") { Description = "Scopes to request besides 'openid profile email', space-separated (e.g. \"groups\")." };
        var name = new Option<string>("--name") { Description = "The login page shows \"Sign in with NAME\" (default: the issuer's host)." };
        var allowLoopback = new Option<bool>("--allow-loopback") { Description = "Accept a plain-http issuer on a loopback address (local development and tests only)." };
        var set = new Command("set", "Configure (or replace) the identity provider.") { issuer, clientId, secretEnv, secretFile, groupsClaim, scopes, name, allowLoopback };
        set.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            if (cli.ReadSecret(parse.GetValue(secretEnv), parse.GetValue(secretFile), secretEnv.Name, secretFile.Name) is not { } secret)
            {
                return 2;
            }

            var spec = new LoginProviderSpec(parse.GetValue(issuer)!, parse.GetValue(clientId)!, secret, parse.GetValue(groupsClaim), parse.GetValue(scopes),
                parse.GetValue(name), parse.GetValue(allowLoopback));
            var (result, redirectUri) = await cli.WithAdministrationAsync(async a => (await a.SetLoginProviderAsync(spec, "cli", ct), await RedirectUriAsync(cli, ct)), ct);
            return cli.Report(result, view =>
            {
                cli.Output.WriteLine($"Login provider {view.Issuer} (client '{view.ClientId}', groups from '{view.GroupsClaim}'): the login page offers \"Sign in with {view.Name}\".");
                cli.Output.WriteLine($"Register this redirect URI at the provider: {redirectUri}");
                cli.Output.WriteLine(InForce);
            });
        });

        var show = new Command("show", "Show the identity provider (the client secret is never shown).");
        show.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var (view, redirectUri) = await cli.WithAdministrationAsync(async a => (await a.GetLoginProviderAsync(ct), await RedirectUriAsync(cli, ct)), ct);
            if (cli.Json)
            {
                cli.WriteJson(view is null ? null : new { view.Issuer, view.ClientId, view.GroupsClaim, view.Scopes, view.Name, view.AllowLoopback, view.ClientSecret, RedirectUri = redirectUri });
            }
            else if (view is null)
            {
                cli.Output.WriteLine("No login provider is configured: people sign in with the admin token or local sign-in tokens. 'gatehouse login-provider set' adds one.");
            }
            else
            {
                cli.Output.WriteLine($"issuer         {view.Issuer}{(view.AllowLoopback ? " (loopback allowed)" : "")}");
                cli.Output.WriteLine($"client id      {view.ClientId}");
                cli.Output.WriteLine($"client secret  {view.ClientSecret}");
                cli.Output.WriteLine($"groups claim   {view.GroupsClaim}");
                cli.Output.WriteLine($"scopes         {string.Join(' ', OrganisationSignIn.Scopes(view.Scopes))}");
                cli.Output.WriteLine($"button         Sign in with {view.Name}");
                cli.Output.WriteLine($"redirect URI   {redirectUri}");
            }

            return 0;
        });

        var remove = new Command("remove", "Remove the identity provider: its users can no longer sign in (their accounts, grants and tokens stay until offboarded).");
        remove.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var result = await cli.WithAdministrationAsync(a => a.RemoveLoginProviderAsync("cli", ct), ct);
            return cli.Report(result, removed => cli.Output.WriteLine($"Removed login provider {removed}. {InForce}"));
        });

        command.Subcommands.Add(set);
        command.Subcommands.Add(show);
        command.Subcommands.Add(remove);
        return command;
    }

    // The gateway records its public URL when it starts; before that, the default address.
    private static async Task<string> RedirectUriAsync(CliContext cli, CancellationToken ct)
    {
        await using var db = cli.Storage.CreateContext();
        var baseUrl = await GatewayAddress.LoadAsync(db, ct) ?? new Uri("http://127.0.0.1:8080");
        return GatewayAddress.Normalize(baseUrl) + OrganisationSignIn.CallbackPath;
    }
}
