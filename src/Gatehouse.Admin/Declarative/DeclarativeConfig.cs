using System.Text.RegularExpressions;
using Gatehouse.Admin.Administration;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Gatehouse.Admin.Declarative;

/// <summary>
/// The declarative configuration file (<c>gatehouse.yaml</c>) that can live in git. Header values may reference
/// environment variables as <c>${NAME}</c>, so secrets need not be committed; only the CLI expands them (and reads
/// <c>private-key-file</c>), on the operator's machine. The admin API refuses both (<see cref="ParseFromApi"/>).
/// </summary>
/// <example>
/// <code>
/// servers:
///   - name: github
///     url: https://api.example.com/mcp
///     transport: streamable-http
///     headers:
///       Authorization: "Bearer ${GITHUB_TOKEN}"
///   - name: linear
///     url: https://mcp.example.com/mcp
///     oauth:
///       client-id: gatehouse
///       client-secret: ${LINEAR_CLIENT_SECRET}
///       scopes: read write
/// </code>
/// </example>
public static partial class DeclarativeConfig
{
    /// <summary>
    /// Parses the file on the operator's machine (the CLI) into server specs, expanding <c>${NAME}</c> from
    /// <paramref name="environment"/> and reading <c>private-key-file</c>; or returns every problem with its line.
    /// </summary>
    public static AdminResult<IReadOnlyList<ServerSpec>> Parse(string yaml, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return ParseCore(yaml, environment);
    }

    /// <summary>
    /// Parses a file sent to the admin API: nothing is expanded and no file is read, since the sender is not the
    /// host's operator. A <c>${...}</c> reference (GH1900) or a <c>private-key-file</c> (GH1901) is refused.
    /// </summary>
    public static AdminResult<IReadOnlyList<ServerSpec>> ParseFromApi(string yaml) => ParseCore(yaml, environment: null);

    /// <summary><paramref name="environment"/> null: an API body, which may not reach into the host.</summary>
    private static AdminResult<IReadOnlyList<ServerSpec>> ParseCore(string yaml, Func<string, string?>? environment)
    {
        ConfigDocument? document;
        try
        {
            document = new DeserializerBuilder().WithNamingConvention(HyphenatedNamingConvention.Instance).Build().Deserialize<ConfigDocument>(yaml);
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException is YamlException nested ? nested.Message : ex.InnerException?.Message ?? ex.Message;
            return AdminResult<IReadOnlyList<ServerSpec>>.Fail(AdminFailure.Invalid, $"line {ex.Start.Line}, column {ex.Start.Column}: {Simplify(inner)}");
        }

        var problems = new List<string>();
        var specs = new List<ServerSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (server, index) in (document?.Servers ?? []).Select((s, i) => (s, i)))
        {
            var where = $"servers[{index}]" + (server.Name is { Length: > 0 } n ? $" ({n})" : "");
            if (string.IsNullOrEmpty(server.Name) || string.IsNullOrEmpty(server.Url))
            {
                problems.Add($"{where}: 'name' and 'url' are required.");
                continue;
            }

            if (!seen.Add(server.Name))
            {
                problems.Add($"{where}: server '{server.Name}' appears twice.");
                continue;
            }

            if (environment is null && RefuseHostReferences(where, server, problems))
            {
                continue;
            }

            var headers = new List<KeyValuePair<string, string>>();
            foreach (var (name, raw) in server.Headers ?? [])
            {
                if (environment is null)
                {
                    headers.Add(new(name, raw ?? ""));
                    continue;
                }

                var missing = new List<string>();
                var value = EnvReference().Replace(raw ?? "", m => environment(m.Groups[1].Value) ?? AddMissing(missing, m.Groups[1].Value));
                if (missing.Count > 0)
                {
                    problems.Add($"{where}: header '{name}' uses environment variable(s) {string.Join(", ", missing)}, which are not set. Set them before applying.");
                }

                headers.Add(new(name, value));
            }

            OAuthSpec? oauth = null;
            if (server.OAuth is { } o)
            {
                string? Resolve(string field, string? raw)
                {
                    if (raw is null || environment is null)
                    {
                        return raw;
                    }

                    var missing = new List<string>();
                    var value = EnvReference().Replace(raw, m => environment(m.Groups[1].Value) ?? AddMissing(missing, m.Groups[1].Value));
                    if (missing.Count > 0)
                    {
                        problems.Add($"{where}: oauth '{field}' uses environment variable(s) {string.Join(", ", missing)}, which are not set. Set them before applying.");
                    }

                    return value;
                }

                string? pem = null;
                if (environment is not null && o.PrivateKeyFile is { } keyFile)
                {
                    var path = Resolve("private-key-file", keyFile)!;
                    if (File.Exists(path))
                    {
                        pem = File.ReadAllText(path);
                    }
                    else
                    {
                        problems.Add($"{where}: oauth 'private-key-file' {path} does not exist.");
                    }
                }

                oauth = new OAuthSpec(o.Grant, o.ClientId, Resolve("client-secret", o.ClientSecret), pem, o.KeyId, o.TokenAuthMethod, o.Scopes,
                    o.AllowLoopback ?? false, o.AssumePkce ?? false, o.PerUser ?? false);
            }

            specs.Add(new ServerSpec(server.Name, server.Url, server.Transport, headers, server.Enabled ?? true, oauth, server.ForwardIdentityHeaders ?? false));
        }

        return problems.Count > 0
            ? AdminResult<IReadOnlyList<ServerSpec>>.Fail(AdminFailure.Invalid, string.Join(Environment.NewLine, problems))
            : AdminResult<IReadOnlyList<ServerSpec>>.Ok(specs);
    }

    /// <summary>Applies the specs: creates or updates each server; with <paramref name="prune"/>, removes servers not in the file.</summary>
    public static async Task<AdminResult<ApplyReport>> ApplyAsync(GatewayAdministration admin, IReadOnlyList<ServerSpec> specs, bool prune, string actor, CancellationToken ct = default)
    {
        var changes = new List<ApplyChange>();
        foreach (var spec in specs)
        {
            var result = await admin.UpsertServerAsync(spec, actor, ct);
            if (!result.Succeeded)
            {
                return AdminResult<ApplyReport>.Fail(result.Failure!.Value, $"server '{spec.Name}': {result.Error} (changes before it were applied: {changes.Count})");
            }

            changes.Add(new ApplyChange("server", spec.Name, result.Value!));
        }

        if (prune)
        {
            var wanted = specs.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var existing in await admin.ListServersAsync(ct))
            {
                if (!wanted.Contains(existing.Name))
                {
                    await admin.RemoveServerAsync(existing.Name, actor, ct);
                    changes.Add(new ApplyChange("server", existing.Name, "removed"));
                }
            }
        }

        return AdminResult<ApplyReport>.Ok(new ApplyReport(changes));
    }

    /// <summary>Adds a problem for every <c>${...}</c> and file reference in an API body's server entry; true when any was found.</summary>
    private static bool RefuseHostReferences(string where, ServerEntry server, List<string> problems)
    {
        var before = problems.Count;
        void Check(string field, string? value)
        {
            if (HostReferences.Contains(value))
            {
                problems.Add(HostReferences.HostReferenceRefusal($"{where}: {field}"));
            }
        }

        Check("'name'", server.Name);
        Check("'url'", server.Url);
        Check("'transport'", server.Transport);
        foreach (var (name, value) in server.Headers ?? [])
        {
            Check($"header name '{name}'", name);
            Check($"header '{name}'", value);
        }

        if (server.OAuth is { } o)
        {
            Check("oauth 'grant'", o.Grant);
            Check("oauth 'client-id'", o.ClientId);
            Check("oauth 'client-secret'", o.ClientSecret);
            Check("oauth 'key-id'", o.KeyId);
            Check("oauth 'token-auth-method'", o.TokenAuthMethod);
            Check("oauth 'scopes'", o.Scopes);
            if (o.PrivateKeyFile is not null)
            {
                problems.Add(HostReferences.FileReferenceRefusal($"{where}: oauth 'private-key-file'"));
            }
        }

        return problems.Count > before;
    }

    private static string AddMissing(List<string> missing, string name)
    {
        missing.Add(name);
        return "";
    }

    private static string Simplify(string message) =>
        message.Contains("not found on type", StringComparison.Ordinal) ? "unknown key; allowed keys are servers: name, url, transport, headers, enabled, forward-identity-headers, oauth (grant, client-id, client-secret, private-key-file, key-id, token-auth-method, scopes, allow-loopback, assume-pkce). (" + message + ")" : message;

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvReference();

    private sealed class ConfigDocument
    {
        public List<ServerEntry>? Servers { get; set; }
    }

    private sealed class ServerEntry
    {
        public string? Name { get; set; }
        public string? Url { get; set; }
        public string? Transport { get; set; }
        public Dictionary<string, string?>? Headers { get; set; }
        public bool? Enabled { get; set; }
        public bool? ForwardIdentityHeaders { get; set; }
        [YamlMember(Alias = "oauth")]
        public OAuthEntry? OAuth { get; set; }
    }

    private sealed class OAuthEntry
    {
        public string? Grant { get; set; }
        public string? ClientId { get; set; }
        public string? ClientSecret { get; set; }
        public string? PrivateKeyFile { get; set; }
        public string? KeyId { get; set; }
        public string? TokenAuthMethod { get; set; }
        public string? Scopes { get; set; }
        public bool? AllowLoopback { get; set; }
        public bool? AssumePkce { get; set; }
        public bool? PerUser { get; set; }
    }
}
