using BenchmarkDotNet.Running;
using Referrals.Benchmarks;

// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- --filter '*'     BenchmarkDotNet
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- lookup-quick [CODES] [ROUNDS]  ns per look-up in loops (a quick look)
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- index-memory [CODES] [ROUNDS]  bytes per code of an index loaded from SQLite; load vs bare read
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- memory           bytes held per indexed code
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- sqlite-quick N [notify]   conversions/s on SQLite (a quick look; notify: with a notifier)
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- sqlite-pages W M  pages of each B-tree one conversion writes
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- history-seed N [memory|sqlite]  how long seeding N referrals of one referrer takes
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- attribution-quick [rounds]  time per conversion
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- history-profile PER_ROUND ROUNDS N...  time per conversion (public API, in memory) at histories N, for profiling
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- store-unit [N...]  a conversion-shaped session on the in-memory store, before/now, at histories N
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- replay-quick [N] [ROUNDS] [SQLITE-FILE]  what-if replay of N conversions: ns per conversion, live beside it, heap held
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- tool-seed DIR [REFERRERS] [ROWS]  a SQLite file and a POS CSV for the referrals tool's import figure
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- alloc-quick [keep|drop] [CHUNK]  a bulk code's objects made and dropped or kept
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- gen-quick [N] [memory|sqlite] [ROUNDS]  bulk generation timed in rounds
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- pg-seed [N]   seed PostgreSqlStoreBenchmarks' template database again (REFERRALS_POSTGRES), how long it takes
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- pg-isolation [N] [REFERRERS]  the isolation comparison in loops: transactions/s, retries
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- alloc-types [COUNT]  what a PostgreSQL conversion allocates, by type (allocation samples)
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- pg-phase conversion|same [SECONDS]  one PostgreSQL operation from 8 callers for a while, to profile it
// dotnet run -c Release --project benchmarks/Referrals.Benchmarks -- pg-quick [N] [ROUNDS] [CODES]  raw inserts and conversions on PostgreSQL timed in loops; round trips per conversion
if (args.Length > 0 && args[0] == "replay-quick")
{
    // replay-quick [N] [ROUNDS]: issue 23's replay timed in rounds beside live recording, and the heap it holds as it reads.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await ReplayHistory.QuickAsync(args.Length > 1 ? int.Parse(args[1], inv) : 100_000, args.Length > 2 ? int.Parse(args[2], inv) : 3, args.Length > 3 ? args[3] : null);
    return;
}
if (args.Length > 0 && args[0] == "tool-seed")
{
    // tool-seed DIR [REFERRERS] [ROWS]: a SQLite file of referrers with codes and a POS CSV for the referrals tool's import figure.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await ToolSeed.RunAsync(args[1], args.Length > 2 ? int.Parse(args[2], inv) : 1000, args.Length > 3 ? int.Parse(args[3], inv) : 1_000_000);
    return;
}
if (args.Length > 0 && args[0] == "alloc-quick")
{
    // alloc-quick [keep|drop] [CHUNK]: a bulk code's record and strings made, held by chunks, dropped or kept (not a result to quote).
    AllocQuick.Run(args.Length > 1 && args[1] == "keep", args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 65536);
    return;
}
if (args.Length > 0 && args[0] == "gen-quick")
{
    // gen-quick [N] [memory|sqlite] [ROUNDS]: bulk generation of N codes timed in rounds (not a result to quote).
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await GenerationQuick.RunAsync(args.Length > 1 ? int.Parse(args[1], inv) : 100_000, args.Length > 2 && args[2] == "sqlite", args.Length > 3 ? int.Parse(args[3], inv) : 5);
    return;
}
if (args.Length > 0 && args[0] == "pg-seed")
{
    // pg-seed [N]: seeds the template database of PostgreSqlStoreBenchmarks again through the store; how long it took.
    int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : PostgreSqlStoreBenchmarks.CodeCount;
    var took = await PostgreSqlBench.EnsureTemplateAsync(n, reseed: true);
    Console.WriteLine($"seeded {n} codes in {took.TotalSeconds:F1} s");
    return;
}
if (args.Length > 0 && args[0] == "alloc-types")
{
    // alloc-types [COUNT]: what a PostgreSQL conversion allocates, by type, from the runtime's allocation samples (not a result to quote).
    await AllocTypes.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000);
    return;
}

if (args.Length > 0 && args[0] == "pg-phase")
{
    // pg-phase conversion|same [SECONDS]: one operation from 8 callers for a while, to profile it (not a result to quote).
    await PostgreSqlQuick.RunPhaseAsync(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 30, 10_000);
    return;
}

if (args.Length > 0 && args[0] == "pg-quick")
{
    // pg-quick [N] [ROUNDS] [CODES]: a quick look at the PostgreSQL store (not a result to quote): raw inserts and conversions
    // timed in loops, then round trips and statements per conversion.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await PostgreSqlQuick.RunAsync(args.Length > 1 ? int.Parse(args[1], inv) : 2000, args.Length > 2 ? int.Parse(args[2], inv) : 3, args.Length > 3 ? int.Parse(args[3], inv) : PostgreSqlStoreBenchmarks.CodeCount);
    return;
}
if (args.Length > 0 && args[0] == "pg-isolation")
{
    // pg-isolation [N] [REFERRERS]: the isolation comparison in loops (not a result to quote): transactions/s and retries.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    int n = args.Length > 1 ? int.Parse(args[1], inv) : 4096;
    var iso = new PostgreSqlIsolationBenchmarks { Referrers = args.Length > 2 ? int.Parse(args[2], inv) : 8 };
    await iso.SetupAsync();
    try
    {
        for (int round = 0; round < 2; round++)
        {
            foreach (string kind in (string[])["for-update", "version-check", "serializable"])
            {
                var (commits0, retries0) = iso.Counters;
                var sw = System.Diagnostics.Stopwatch.StartNew();
                await iso.RunAsync(kind, n);
                var (commits1, retries1) = iso.Counters;
                Console.WriteLine($"{kind,-14} {(commits1 - commits0) / sw.Elapsed.TotalSeconds,7:F0} transactions/s, {(retries1 - retries0) / (double)(commits1 - commits0):F3} retries per transaction");
            }
        }
    }
    finally
    {
        iso.Cleanup();
    }
    return;
}
if (args.Length > 0 && args[0] == "history-profile")
{
    // history-profile PER_ROUND ROUNDS N...: conversions timed over the public API against histories N, in memory.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await HistoryProfile.RunAsync([.. args.Skip(3).Select(a => int.Parse(a, inv))], int.Parse(args[1], inv), int.Parse(args[2], inv));
    return;
}
if (args.Length > 0 && args[0] == "store-unit")
{
    int[] histories = args.Length > 1 ? [.. args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))] : [10, 100_000];
    await StoreUnitTiming.RunAsync(histories, sessions: 2000);
    return;
}
if (args.Length > 0 && args[0] == "history-seed")
{
    int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000;
    var sw = System.Diagnostics.Stopwatch.StartNew();
    if (args.Length > 2 && args[2] == "sqlite")
    {
        Console.WriteLine(await HistoryScenario.EnsureSqliteTemplateAsync(n));
    }
    else
    {
        using var scenario = await HistoryScenario.SeedInMemoryAsync(n);
    }
    Console.WriteLine($"seeded {n} referrals in {sw.Elapsed.TotalSeconds:F1} s");
    return;
}
if (args.Length > 0 && args[0] == "contract-store-quick")
{
    // A quick look (not a result to quote): one unit of work (an order, an entry, a reward row, two summaries) written
    // and committed in its own session of the in-memory contract store, when the store holds N such orders already.
    int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
    await ContractStoreQuick.RunAsync(n);
    return;
}
if (args.Length > 0 && args[0] == "lookup-quick")
{
    // lookup-quick [CODES] [ROUNDS]: a quick look at a look-up's costs (not a result to quote).
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    LookupQuick.Run(args.Length > 1 ? int.Parse(args[1], inv) : 1_000_000, args.Length > 2 ? int.Parse(args[2], inv) : 5);
    return;
}
if (args.Length > 0 && args[0] == "index-memory")
{
    // index-memory [CODES] [ROUNDS]: a process whose codes live in SQLite: bytes per code held after loading the index
    // (GC heap after a full collection, RSS), and the load's time against a bare read of the same rows.
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    await CodeIndexMemory.ReportAsync(args.Length > 1 ? int.Parse(args[1], inv) : 1_000_000, args.Length > 2 ? int.Parse(args[2], inv) : 3);
    return;
}
if (args.Length > 0 && args[0] == "memory")
{
    await IndexMemory.ReportAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}
if (args.Length > 0 && args[0] == "attribution-quick")
{
    // A quick look while optimising (not a result to quote): average time and bytes per conversion.
    var b = new AttributionBenchmarks();
    b.Setup();
    int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
    for (int round = 0; round < rounds; round++)
    {
        b.PrepareFriends();
        GC.Collect(); // as BenchmarkDotNet does between the iteration setup and the iteration
        long bytes = GC.GetAllocatedBytesForCurrentThread();
        var pause = GC.GetTotalPauseDuration();
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < AttributionBenchmarks.FriendsPerIteration; i++)
        {
            b.RecordConversion_ThreeTouches();
        }
        sw.Stop();
        Console.WriteLine($"{sw.Elapsed.TotalMicroseconds / AttributionBenchmarks.FriendsPerIteration:F2} us ({(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / AttributionBenchmarks.FriendsPerIteration:F2} us CPU), {(GC.GetAllocatedBytesForCurrentThread() - bytes) / AttributionBenchmarks.FriendsPerIteration} B per conversion; GC pauses {(GC.GetTotalPauseDuration() - pause).TotalMicroseconds / AttributionBenchmarks.FriendsPerIteration:F2} us per conversion; collections gen0/1/2 {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}");
    }
    return;
}
if (args.Length > 0 && args[0] == "sqlite-pages")
{
    await WalPages.ReportAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 300);
    return;
}
if (args.Length > 0 && args[0] == "sqlite-quick")
{
    // A quick look while optimising (not a result to quote): committed conversions per second on the 1M-code file.
    var s = new SqliteStoreBenchmarks { WithNotifier = args.Length > 2 && args[2] == "notify" };
    await s.SetupAsync();
    int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000;
    for (int round = 0; round < 3; round++)
    {
        var io0 = Io();
        var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        long tcpu0 = ThreadCpu.Nanoseconds();
        var sched0 = Sched();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            s.RecordConversion();
        }
        sw.Stop();
        long tcpu = ThreadCpu.Nanoseconds() - tcpu0;
        var sched1 = Sched();
        Console.WriteLine($"  this thread: on CPU {(sched1.run - sched0.run) / 1000.0 / count:F1} us, runnable but waiting for a CPU {(sched1.wait - sched0.wait) / 1000.0 / count:F1} us, {(sched1.slices - sched0.slices) / (double)count:F2} times scheduled per conversion");
        var io1 = Io();
        Console.WriteLine("  log: " + s.LogState());
        var cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds / count;
        Console.WriteLine($"{count / sw.Elapsed.TotalSeconds:F0} conversions/s ({sw.Elapsed.TotalMicroseconds / count:F1} us each, cpu {cpu:F0} us, this thread {tcpu / 1000.0 / count:F1} us) syscr {(io1.r - io0.r) / (double)count:F1} syscw {(io1.w - io0.w) / (double)count:F1} wbytes {(io1.wb - io0.wb) / (double)count:F0}");
        sw.Restart();
        for (int i = 0; i < count / SqliteStoreBenchmarks.BatchSize; i++)
        {
            s.RecordConversions_Batch();
        }
        Console.WriteLine($"  batch API ({SqliteStoreBenchmarks.BatchSize} per transaction): {count / SqliteStoreBenchmarks.BatchSize * SqliteStoreBenchmarks.BatchSize / sw.Elapsed.TotalSeconds:F0} conversions/s");
        sw.Restart();
        for (int i = 0; i < count; i++)
        {
            s.Baseline_OneRowTransaction();
        }
        Console.WriteLine($"  baseline: one-row transaction {sw.Elapsed.TotalMicroseconds / count:F1} us; read of a code from the file {Time(() => s.ReadCode_FromFile(), count):F1} us");
    }
    s.Cleanup();
    return;
}

// This thread's scheduler statistics: time on a CPU, time runnable waiting for one, times scheduled (Linux).
static (long run, long wait, long slices) Sched()
{
    if (!File.Exists("/proc/thread-self/schedstat"))
    {
        return (0, 0, 0);
    }
    var f = File.ReadAllText("/proc/thread-self/schedstat").Split(' ');
    return (Field(0), Field(1), Field(2));

    long Field(int i) => long.Parse(f[i], System.Globalization.CultureInfo.InvariantCulture);
}

// Read and write system calls and bytes written so far by this process (Linux; zeros elsewhere).
static (long r, long w, long wb) Io()
{
    if (!File.Exists("/proc/self/io"))
    {
        return (0, 0, 0);
    }
    var d = File.ReadAllLines("/proc/self/io").Select(l => l.Split(':')).ToDictionary(a => a[0], a => long.Parse(a[1].Trim(), System.Globalization.CultureInfo.InvariantCulture));
    return (d["syscr"], d["syscw"], d["wchar"]);
}

static double Time(Action action, int count)
{
    var sw = System.Diagnostics.Stopwatch.StartNew();
    for (int i = 0; i < count; i++)
    {
        action();
    }
    return sw.Elapsed.TotalMicroseconds / count;
}
BenchmarkSwitcher.FromAssembly(typeof(CodeLookupBenchmarks).Assembly).Run(args);

static class ThreadCpu
{
    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int clock_gettime(int clock, out Timespec ts);

    private struct Timespec { public long Sec; public long Nsec; }

    public static long Nanoseconds() => OperatingSystem.IsLinux() && clock_gettime(3, out var ts) == 0 ? ts.Sec * 1_000_000_000 + ts.Nsec : 0;
}
