using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Host.Tests.Cli;

/// <summary><c>serve</c> that cannot start says what and what to do in one line, exits non-zero, and shows no stack trace.</summary>
public sealed class ServeStartupErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-serve-").FullName;

    private static async Task<(int Code, string Error)> ServeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = Program.Run(args, output, error);
        // A serve that started by mistake would never return: the timeout turns that into a failure, not a hang.
        var finished = await Task.WhenAny(run, Task.Delay(Timeout.Infinite, timeout.Token).ContinueWith(_ => 0, TaskScheduler.Default));
        Assert.True(finished == run, "serve started instead of failing");
        return (await run, error.ToString());
    }

    private static void AssertOneClearLine((int Code, string Error) result, string mustSay)
    {
        Assert.NotEqual(0, result.Code);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected one line, got:\n" + result.Error);
        Assert.Contains(mustSay, lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_a_port_in_use_says_so_in_one_line()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        AssertOneClearLine(await ServeAsync("--data", _dir, "serve", "--urls", $"http://127.0.0.1:{port}"), "already in use");
    }

    [Fact]
    public async Task Serve_with_a_data_directory_that_cannot_be_created_says_so_in_one_line()
    {
        var file = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        AssertOneClearLine(await ServeAsync("--data", Path.Combine(file, "data"), "serve", "--urls", "http://127.0.0.1:0"), "--data");
    }

    [Fact]
    public async Task Serve_on_https_without_a_certificate_says_so_in_one_line()
    {
        AssertOneClearLine(await ServeAsync("--data", _dir, "serve", "--urls", "https://127.0.0.1:0"), "certificate");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
