using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Admin.Administration;
using Gatehouse.Storage;
using Gatehouse.Storage.Vault;
using Gatehouse.UpstreamAuth.Connections;
using Gatehouse.UpstreamAuth.Flows;

namespace Gatehouse.Host.Cli;

/// <summary>What every CLI command shares: the data directory, output mode and access to the admin service.</summary>
internal sealed class CliContext(string dataDirectory, bool json, TextWriter output, TextWriter error)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string DataDirectory { get; } = dataDirectory;

    public bool Json { get; } = json;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public GatehouseStorage Storage { get; } = new(dataDirectory);

    /// <summary>Runs <paramref name="action"/> with the admin service over the data directory; changes signal running gateways.</summary>
    public async Task<T> WithAdministrationAsync<T>(Func<GatewayAdministration, Task<T>> action, CancellationToken ct)
    {
        await Storage.InitializeAsync(ct);
        var masterKey = MasterKey.Load(Storage.DataDirectory, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        await using var db = Storage.CreateContext();
        var vault = await EnvelopeVault.OpenAsync(db, masterKey, TimeProvider.System, ct);
        // The upstream OAuth client revokes a server's tokens at the provider when an update moves the server elsewhere.
        using var upstreamAuth = new UpstreamAuthServices(Storage, vault, TimeProvider.System, new UpstreamAuthOptions(), Storage.TouchChangeStamp);
        return await action(new GatewayAdministration(db, vault, TimeProvider.System, Storage.TouchChangeStamp, new ConnectFlows(upstreamAuth)));
    }

    /// <summary>Runs <paramref name="action"/> with the upstream OAuth client (connect, disconnect); the public URL comes from the database unless given.</summary>
    public async Task<T> WithConnectFlowsAsync<T>(Uri? publicUrl, Func<ConnectFlows, UpstreamAuthServices, Task<T>> action, CancellationToken ct)
    {
        await Storage.InitializeAsync(ct);
        var masterKey = MasterKey.Load(Storage.DataDirectory, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        await using var db = Storage.CreateContext();
        var vault = await EnvelopeVault.OpenAsync(db, masterKey, TimeProvider.System, ct);
        using var services = new UpstreamAuthServices(Storage, vault, TimeProvider.System, new UpstreamAuthOptions(), Storage.TouchChangeStamp)
        {
            PublicBaseUrl = publicUrl ?? await GatewayAddress.LoadAsync(db, ct),
            ClientMetadataUrl = await GatewayAddress.LoadClientMetadataUrlAsync(db, ct),
        };
        return await action(new ConnectFlows(services), services);
    }

    /// <summary>
    /// Runs <paramref name="action"/> in a scope holding the database context and OpenIddict's managers (clients,
    /// consents, tokens): what revoking a person's Gatehouse-issued credentials needs. No master key is needed.
    /// </summary>
    public async Task<T> WithIdentityStoresAsync<T>(Func<IServiceProvider, GatehouseDbContext, Task<T>> action, CancellationToken ct)
    {
        await Storage.InitializeAsync(ct);
        await using var provider = new ServiceCollection().AddLogging().AddGatehouseIdentityStores(Storage).Services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        return await action(scope.ServiceProvider, scope.ServiceProvider.GetRequiredService<GatehouseDbContext>());
    }

    /// <summary>Runs <paramref name="action"/> with the policy service (policies hold no secrets: no master key needed).</summary>
    public async Task<T> WithPoliciesAsync<T>(Func<PolicyAdministration, GatehouseDbContext, Task<T>> action, CancellationToken ct)
    {
        await Storage.InitializeAsync(ct);
        await using var db = Storage.CreateContext();
        return await action(new PolicyAdministration(db, TimeProvider.System, Storage.TouchChangeStamp), db);
    }

    /// <summary>
    /// A secret named on the command line by where it is, never by its value: the environment variable or file given.
    /// Prints the error and returns null when that place is missing or empty.
    /// </summary>
    public string? ReadSecret(string? environmentVariable, string? file, string envOption, string fileOption)
    {
        if (environmentVariable is not null)
        {
            var value = Environment.GetEnvironmentVariable(environmentVariable);
            if (string.IsNullOrEmpty(value))
            {
                Error.WriteLine($"error: {envOption} names '{environmentVariable}', which is not set or empty.");
            }

            return string.IsNullOrEmpty(value) ? null : value;
        }

        if (file is not null)
        {
            var value = File.Exists(file) ? File.ReadAllText(file).Trim() : null;
            if (string.IsNullOrEmpty(value))
            {
                Error.WriteLine($"error: {fileOption} '{file}' does not exist or is empty.");
            }

            return string.IsNullOrEmpty(value) ? null : value;
        }

        Error.WriteLine($"error: give the secret with {envOption} VAR or {fileOption} PATH (never on the command line).");
        return null;
    }

    public void WriteJson<T>(T value) => Output.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Prints a result: JSON or human text on success, the error on stderr (exit code 1) on failure.</summary>
    public int Report<T>(AdminResult<T> result, Action<T> human)
    {
        if (!result.Succeeded)
        {
            if (Json)
            {
                WriteJson(new { error = result.Failure.ToString()!.ToLowerInvariant(), message = result.Error });
            }

            Error.WriteLine($"error: {result.Error}");
            return result.Failure == AdminFailure.NotFound ? 3 : 1;
        }

        if (Json)
        {
            WriteJson(result.Value);
        }
        else
        {
            human(result.Value!);
        }

        return 0;
    }

    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        Output.WriteLine(string.Join("  ", headers.Select((h, i) => h.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in all)
        {
            Output.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }

    public static string Time(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "-";
}
