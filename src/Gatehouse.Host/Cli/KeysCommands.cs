using System.CommandLine;
using Gatehouse.Storage.Vault;

namespace Gatehouse.Host.Cli;

/// <summary><c>gatehouse keys rotate</c>.</summary>
internal static class KeysCommands
{
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var keys = new Command("keys", "Manage the vault's encryption keys.");
        var newMasterKey = new Option<bool>("--new-master-key") { Description = "Also replace the master key (running gateways must then be restarted with it)." };
        var rotate = new Command("rotate", "Re-seal every stored secret under a new data key and delete the old data keys (nothing is lost).") { newMasterKey };
        rotate.SetAction(async (parse, ct) =>
        {
            var cli = context(parse);
            var environmentValue = Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable);
            var keyShown = false;
            var options = new KeyRotationOptions
            {
                NewMasterKey = parse.GetValue(newMasterKey),
                MasterKeyEnvironmentValue = environmentValue,
                Actor = "cli",
                // A new master key from the environment exists only in this process until printed: it goes out before the
                // commit, so that no crash can leave the vault under a key nobody has.
                BeforeCommit = async (report, _) =>
                {
                    if (report.NewMasterKey is not null)
                    {
                        PrintNewMasterKey(cli, report);
                        await cli.Output.FlushAsync(CancellationToken.None);
                        keyShown = true;
                    }
                },
            };

            KeyRotationReport result;
            try
            {
                result = await KeyRotation.RotateAsync(cli.Storage, options, TimeProvider.System, ct);
            }
            catch (InvalidOperationException ex) when (!keyShown)
            {
                // A value that cannot be opened, or a master key that opens nothing: the message says what to do.
                if (cli.Json)
                {
                    cli.WriteJson(new { error = "rotation_refused", message = ex.Message });
                }

                await cli.Error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
            catch when (keyShown)
            {
                await cli.Error.WriteLineAsync($"The rotation did not commit: keep the current {MasterKey.EnvironmentVariable}. The key printed above is not in use.");
                throw;
            }

            if (!(keyShown && cli.Json))
            {
                PrintReport(cli, result);
            }

            return 0;
        });
        keys.Subcommands.Add(rotate);
        return keys;
    }

    /// <summary>The new master key, before the commit: in JSON the whole report (one document), else the key and what to do with it.</summary>
    private static void PrintNewMasterKey(CliContext cli, KeyRotationReport report)
    {
        if (cli.Json)
        {
            PrintReport(cli, report);
            return;
        }

        cli.Output.WriteLine($"New master key {report.MasterKeyId} (shown once; Gatehouse keeps no copy):");
        cli.Output.WriteLine(report.NewMasterKey);
        cli.Output.WriteLine($"Set {MasterKey.EnvironmentVariable} to this value for every gateway and CLI on this database: once this rotation commits, the old value opens nothing.");
    }

    private static void PrintReport(CliContext cli, KeyRotationReport report)
    {
        if (cli.Json)
        {
            cli.WriteJson(new
            {
                report.NewDataKeyId,
                report.OldDataKeyIds,
                report.MasterKeyId,
                report.PreviousMasterKeyId,
                report.MasterKeyReplaced,
                report.NewMasterKey,
                report.MasterKeyFile,
                Values = report.Columns.Sum(c => c.Values),
                report.Columns,
                RestartGateways = report.MasterKeyReplaced,
            });
            return;
        }

        var output = cli.Output;
        var old = report.OldDataKeyIds.Count == 0 ? "(none)" : string.Join(", ", report.OldDataKeyIds);
        output.WriteLine($"Data key {old} → {report.NewDataKeyId}: re-sealed {report.Columns.Sum(c => c.Values)} value(s); the old data keys are deleted.");
        cli.Table(["column", "rows", "values"], report.Columns.Select(c => (IReadOnlyList<string>)[$"{c.Table}.{c.Column}", $"{c.Rows}", $"{c.Values}"]));
        if (report.MasterKeyFile is { } file)
        {
            output.WriteLine($"New master key {report.MasterKeyId} written to {file} (back it up: the old key opens nothing any more).");
        }

        output.WriteLine(report.MasterKeyReplaced
            ? $"Restart every gateway on this database now{(report.NewMasterKey is null ? "" : " with the new " + MasterKey.EnvironmentVariable)}: a running gateway still holds master key {report.PreviousMasterKeyId} and cannot open what is sealed from now on."
            : "Running gateways load the new data key on first use; no restart needed.");
    }
}
