using BenchmarkDotNet.Running;
using Referrals.Benchmarks;

// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- --filter '*'     BenchmarkDotNet
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- memory           bytes held per indexed code
if (args.Length > 0 && args[0] == "memory")
{
    await IndexMemory.ReportAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CodeLookupBenchmarks).Assembly).Run(args);
