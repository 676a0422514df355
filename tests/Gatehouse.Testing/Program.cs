using System.Globalization;
using System.Runtime.InteropServices;

namespace Gatehouse.Testing;

/// <summary>
/// Runs one <see cref="TestUpstream"/> as a process for the npm end-to-end suites and the benchmarks:
/// <c>Gatehouse.Testing &lt;conformance|streamable|stateless|legacy-sse|oauth-protected&gt; [--port N]</c>. It prints exactly one
/// line, <c>listening on &lt;uri&gt;</c>, to stdout and runs until stdin closes, SIGTERM or SIGINT.
/// </summary>
internal static class Program
{
    private const string Usage =
        "usage: Gatehouse.Testing <conformance|streamable|stateless|legacy-sse> [--port N] [--require-header Name=Value] [--ignore-stdin]\n" +
        "       Gatehouse.Testing oauth-protected --issuer URL [--required-scope SCOPE] [--audience URL] [--port N] [--ignore-stdin]\n" +
        "  Serves a real MCP upstream on 127.0.0.1 and prints 'listening on <uri>'.\n" +
        "  oauth-protected accepts only JWT access tokens from the issuer whose audience is its own /mcp URL (or --audience).\n" +
        "  Stops when stdin reaches end-of-file (unless --ignore-stdin, or stdin is /dev/null or closed), on SIGTERM or on SIGINT.";

    private static async Task<int> Main(string[] args)
    {
        if (!TryParseArguments(args, out var arguments, out var problem))
        {
            await Console.Error.WriteLineAsync(problem is null ? Usage : $"{problem}\n{Usage}").ConfigureAwait(false);
            return problem is null ? 0 : 2;
        }

        // A TCS rather than a CancellationTokenSource: the signal handlers and the stdin watcher may fire while
        // we are already shutting down, and completing a TCS twice is harmless where a disposed CTS would throw.
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopRequested.TrySetResult();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stopRequested.TrySetResult();
        });

        TestUpstream upstream;
        try
        {
            upstream = await TestUpstream.StartAsync(arguments.Mode, new TestUpstreamOptions
            {
                Port = arguments.Port,
                RequiredHeader = arguments.RequiredHeader,
                OAuth = arguments.OAuth,
                // Nobody can read the log of a separate process, and benchmarks must not grow memory per request.
                RecordRequests = false,
            }).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"could not start the {TestUpstream.ModeName(arguments.Mode)} upstream: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (upstream.ConfigureAwait(false))
        {
            var endpoint = arguments.Mode == UpstreamMode.LegacySse ? upstream.SseUri : upstream.McpUri;
            await Console.Out.WriteLineAsync($"listening on {endpoint}").ConfigureAwait(false);
            await Console.Out.FlushAsync().ConfigureAwait(false);

            if (!arguments.IgnoreStdin && StdinIsLifeline())
            {
                // The parent keeps our stdin open while it wants us alive; EOF means it went away.
                _ = Task.Run(() =>
                {
                    try
                    {
                        using var stdin = Console.OpenStandardInput();
                        var buffer = new byte[256];
                        while (stdin.Read(buffer, 0, buffer.Length) > 0)
                        {
                        }
                    }
                    catch (IOException)
                    {
                        // A broken stdin means the parent is gone, same as EOF.
                    }

                    stopRequested.TrySetResult();
                });
            }

            await stopRequested.Task.ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>
    /// Whether end-of-file on stdin can mean "the parent went away". A process started in the background by a
    /// non-interactive shell gets /dev/null (or no stdin at all under some CI runners), which is at EOF at
    /// once; treating that as the parent leaving would make such runs exit immediately.
    /// </summary>
    private static bool StdinIsLifeline()
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        try
        {
            var stdin = new FileInfo("/proc/self/fd/0");
            return stdin.Exists && stdin.LinkTarget != "/dev/null";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static bool TryParseArguments(string[] args, out Arguments arguments, out string? problem)
    {
        arguments = default;
        problem = null;
        UpstreamMode? mode = null;
        var port = 0;
        (string Name, string Value)? requiredHeader = null;
        var ignoreStdin = false;
        Uri? issuer = null;
        Uri? audience = null;
        string? requiredScope = null;

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? Value(string option)
            {
                if (arg.StartsWith(option + "=", StringComparison.Ordinal))
                {
                    return arg[(option.Length + 1)..];
                }

                return i + 1 < args.Length ? args[++i] : null;
            }

            if (arg is "-h" or "--help")
            {
                return false;
            }
            else if (arg == "--port" || arg.StartsWith("--port=", StringComparison.Ordinal))
            {
                if (!int.TryParse(Value("--port"), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
                {
                    problem = "--port needs a number between 0 and 65535";
                    return false;
                }
            }
            else if (arg == "--require-header" || arg.StartsWith("--require-header=", StringComparison.Ordinal))
            {
                var spec = Value("--require-header");
                var split = spec?.IndexOf('=', StringComparison.Ordinal) ?? -1;
                if (spec is null || split <= 0)
                {
                    problem = "--require-header needs Name=Value";
                    return false;
                }

                requiredHeader = (spec[..split], spec[(split + 1)..]);
            }
            else if (arg == "--issuer" || arg.StartsWith("--issuer=", StringComparison.Ordinal))
            {
                if (!TryParseHttpUri(Value("--issuer"), out issuer))
                {
                    problem = "--issuer needs an absolute http(s) URL";
                    return false;
                }
            }
            else if (arg == "--audience" || arg.StartsWith("--audience=", StringComparison.Ordinal))
            {
                if (!TryParseHttpUri(Value("--audience"), out audience))
                {
                    problem = "--audience needs an absolute http(s) URL";
                    return false;
                }
            }
            else if (arg == "--required-scope" || arg.StartsWith("--required-scope=", StringComparison.Ordinal))
            {
                requiredScope = Value("--required-scope");
                if (string.IsNullOrWhiteSpace(requiredScope) || requiredScope.Contains(' ', StringComparison.Ordinal))
                {
                    problem = "--required-scope needs one scope";
                    return false;
                }
            }
            else if (arg == "--ignore-stdin")
            {
                ignoreStdin = true;
            }
            else if (mode is null && TestUpstream.TryParseModeName(arg, out var parsed))
            {
                mode = parsed;
            }
            else
            {
                problem = $"unexpected argument '{arg}'";
                return false;
            }
        }

        if (mode is null)
        {
            problem = "missing mode";
            return false;
        }

        UpstreamOAuthOptions? oauth = null;
        if (mode == UpstreamMode.OAuthProtected)
        {
            if (issuer is null)
            {
                problem = "oauth-protected needs --issuer";
                return false;
            }

            oauth = new UpstreamOAuthOptions { Issuer = issuer, RequiredScope = requiredScope, Audience = audience };
        }
        else if (issuer is not null || audience is not null || requiredScope is not null)
        {
            problem = "--issuer, --audience and --required-scope only apply to oauth-protected";
            return false;
        }

        arguments = new Arguments(mode.Value, port, requiredHeader, ignoreStdin, oauth);
        return true;
    }

    private static bool TryParseHttpUri(string? text, out Uri? uri) =>
        Uri.TryCreate(text, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private readonly record struct Arguments(
        UpstreamMode Mode,
        int Port,
        (string Name, string Value)? RequiredHeader,
        bool IgnoreStdin,
        UpstreamOAuthOptions? OAuth);
}
