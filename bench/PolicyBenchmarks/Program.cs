using BenchmarkDotNet.Running;

namespace Gatehouse.PolicyBenchmarks;

/// <summary>Entry point: BenchmarkDotNet's switcher, so --filter and --job work as documented.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
