using System.Collections.Concurrent;
using System.Diagnostics;

namespace Referrals.Benchmarks;

/// <summary>
/// A quick look at the PostgreSQL store while optimising (not a result to quote): the benchmarks' operations timed in
/// plain loops on one database, and what a conversion sends to the server — the round trips (Npgsql's commands and
/// batches, from its <see cref="ActivitySource"/>, plus the commit) and the statements in them.
/// </summary>
internal static class PostgreSqlQuick
{
    public static async Task RunAsync(int count, int rounds, int codes)
    {
        var b = new PostgreSqlStoreBenchmarks { Codes = codes };
        await b.SetupAsync(engine: true, sameRows: true).ConfigureAwait(false);
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                double raw1 = await TimeAsync(count, () => b.RawInsertAsync(0)).ConfigureAwait(false);
                var before = CpuNow();
                double raw8 = await TimeConcurrentlyAsync(count, i => b.RawInsertAsync(i)).ConfigureAwait(false);
                var rawCpu = CpuSince(before, count);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                double one = await TimeAsync(count, () => b.RecordConversionAsync()).ConfigureAwait(false);
                double clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
                before = CpuNow();
                double eight = await TimeConcurrentlyAsync(count, _ => b.RecordConversionAsync()).ConfigureAwait(false);
                var conversionCpu = CpuSince(before, count);
                Console.WriteLine(
                    $"CPU per operation with 8 callers (this process / the server's processes): raw insert {rawCpu.Client:F0} / {rawCpu.Server:F0} us, " +
                    $"conversion {conversionCpu.Client:F0} / {conversionCpu.Server:F0} us; on {Environment.ProcessorCount} cores a conversion takes at least " +
                    $"{(conversionCpu.Client + conversionCpu.Server) / Environment.ProcessorCount:F0} us, {(conversionCpu.Client + conversionCpu.Server) / Environment.ProcessorCount / raw8:F2}x the 8-connection insert");
                before = CpuNow();
                double same8 = await TimeConcurrentlyAsync(count, i => b.SameRowsAsync(i, reads: true)).ConfigureAwait(false);
                var sameCpu = CpuSince(before, count);
                before = CpuNow();
                double writes8 = await TimeConcurrentlyAsync(count, i => b.SameRowsAsync(i, reads: false)).ConfigureAwait(false);
                var writesCpu = CpuSince(before, count);
                before = CpuNow();
                double keys8 = await TimeConcurrentlyAsync(count, i => b.SameRowsAsync(i, reads: false, primaryKeysOnly: true)).ConfigureAwait(false);
                var keysCpu = CpuSince(before, count);
                before = CpuNow();
                double split8 = await TimeConcurrentlyAsync(count, i => b.SameRowsAsync(i, reads: true, split: true)).ConfigureAwait(false);
                var splitCpu = CpuSince(before, count);
                double split1 = await TimeAsync(count, () => b.SameRowsAsync(0, reads: true, split: true)).ConfigureAwait(false);
                double same1 = await TimeAsync(count, () => b.SameRowsAsync(0, reads: true)).ConfigureAwait(false);
                Console.WriteLine(
                    $"same rows hand-written, one batch: reads and writes 8 connections {same8:F0} us ({same8 / raw8:F2}x the 8-connection insert; CPU {sameCpu.Client:F0} / {sameCpu.Server:F0} us), " +
                    $"1 connection {same1:F0} us ({same1 / raw1:F2}x); writes only 8 connections {writes8:F0} us ({writes8 / raw8:F2}x; CPU {writesCpu.Client:F0} / {writesCpu.Server:F0} us), primary keys only {keys8:F0} us ({keys8 / raw8:F2}x; CPU {keysCpu.Client:F0} / {keysCpu.Server:F0} us) | conversion / same rows: {eight / same8:F2}x on 8, {one / same1:F2}x on 1");
                Console.WriteLine(
                    $"same rows in three round trips as a conversion sends them (transaction, reads | savepoint, writes | commit): 8 connections {split8:F0} us ({split8 / raw8:F2}x; CPU {splitCpu.Client:F0} / {splitCpu.Server:F0} us), 1 connection {split1:F0} us ({split1 / raw1:F2}x) | conversion / these: {eight / split8:F2}x on 8, {one / split1:F2}x on 1");
                before = CpuNow();
                double least8 = await TimeConcurrentlyAsync(count, i => b.LeastAsync(i)).ConfigureAwait(false);
                var leastCpu = CpuSince(before, count);
                double least1 = await TimeAsync(count, () => b.LeastAsync(0)).ConfigureAwait(false);
                Console.WriteLine(
                    $"least design (BEGIN, 2 reads | 1 event row, 1 state row, COMMIT; primary keys only): 8 connections {least8:F0} us ({least8 / raw8:F2}x the 8-connection insert; CPU {leastCpu.Client:F0} / {leastCpu.Server:F0} us), " +
                    $"1 connection {least1:F0} us ({least1 / raw1:F2}x the 1-connection insert)");
                double batch = await TimeAsync(count / PostgreSqlStoreBenchmarks.BatchSize, () => b.RecordConversions_Batch()).ConfigureAwait(false) / PostgreSqlStoreBenchmarks.BatchSize;
                Console.WriteLine(
                    $"raw insert: 1 connection {raw1:F0} us, 8 connections {raw8:F0} us per insert | conversion: 1 caller {one:F0} us ({one / raw1:F2}x; this process on a CPU {clientCpu:F0} us), " +
                    $"8 callers {eight:F0} us per conversion ({eight / raw1:F2}x the 1-connection insert, {eight / raw8:F2}x the 8-connection one; {1e6 / eight:F0}/s), batch {batch:F0} us");
            }
            await RoundTripsAsync(b, 200).ConfigureAwait(false);
        }
        finally
        {
            b.Cleanup();
        }
    }

    /// <summary>
    /// One operation from 8 callers for <paramref name="seconds"/> — <c>conversion</c> or the same rows in the conversion's
    /// three round trips (<c>same</c>) — to profile one at a time (perf on the server's processes).
    /// </summary>
    public static async Task RunPhaseAsync(string phase, int seconds, int codes)
    {
        var b = new PostgreSqlStoreBenchmarks { Codes = codes };
        await b.SetupAsync(engine: true, sameRows: true).ConfigureAwait(false);
        try
        {
            var until = Stopwatch.StartNew();
            int done = 0;
            Console.WriteLine($"// {phase}: running for {seconds} s");
            await Task.WhenAll(Enumerable.Range(0, PostgreSqlStoreBenchmarks.Callers).Select(i => Task.Run(async () =>
            {
                while (until.Elapsed.TotalSeconds < seconds)
                {
                    if (phase == "conversion")
                    {
                        await b.RecordConversionAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        await b.SameRowsAsync(i, reads: true, split: true).ConfigureAwait(false);
                    }
                    Interlocked.Increment(ref done);
                }
            }))).ConfigureAwait(false);
            Console.WriteLine($"// {phase}: {done} in {until.Elapsed.TotalSeconds:F1} s, {done / until.Elapsed.TotalSeconds:F0}/s");
        }
        finally
        {
            b.Cleanup();
        }
    }

    // Round trips and statements per conversion, from Npgsql's activities (one per command or batch executed; the
    // commit, sent by the transaction, is not one and is added).
    private static async Task RoundTripsAsync(PostgreSqlStoreBenchmarks b, int count)
    {
        var spans = new ConcurrentBag<(string Statement, double Microseconds)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Npgsql", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => spans.Add((Shorten(a.GetTagItem("db.query.text") as string ?? a.GetTagItem("db.statement") as string ?? a.DisplayName), a.Duration.TotalMicroseconds)),
        };
        ActivitySource.AddActivityListener(listener);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            await b.RecordConversionAsync().ConfigureAwait(false);
        }
        sw.Stop();
        var all = spans.ToArray();
        Console.WriteLine($"per conversion ({count}, 1 caller, traced): {all.Length / (double)count:F1} commands or batches + 1 commit; {sw.Elapsed.TotalMicroseconds / count:F0} us each with tracing on");
        foreach (var group in all.GroupBy(s => s.Statement).OrderByDescending(g => g.Sum(s => s.Microseconds)))
        {
            Console.WriteLine($"  {group.Count() / (double)count,5:F2} x {group.Average(s => s.Microseconds),7:F0} us  {group.Key}");
        }
    }

    // CPU time of this process and of every process named postgres (the server's backends and its background processes,
    // from /proc: utime + stime in clock ticks), to split an operation's CPU between client and server.
    private static (TimeSpan Client, double ServerTicks) CpuNow()
    {
        double ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int open = stat.IndexOf('(', StringComparison.Ordinal), close = stat.LastIndexOf(')');
                if (stat[(open + 1)..close] != "postgres")
                {
                    continue;
                }
                var fields = stat[(close + 2)..].Split(' ');
                ticks += double.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + double.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }
        return (Process.GetCurrentProcess().TotalProcessorTime, ticks);
    }

    private static (double Client, double Server) CpuSince((TimeSpan Client, double ServerTicks) before, int count)
    {
        var after = CpuNow();
        const double MicrosecondsPerTick = 10_000; // USER_HZ = 100 on Linux
        return ((after.Client - before.Client).TotalMicroseconds / count, (after.ServerTicks - before.ServerTicks) * MicrosecondsPerTick / count);
    }

    private static string Shorten(string sql)
    {
        string flat = string.Join(' ', sql.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
        return flat.Length > 150 ? flat[..150] + "…" : flat;
    }

    private static async Task<double> TimeAsync<T>(int count, Func<Task<T>> operation)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            await operation().ConfigureAwait(false);
        }
        return sw.Elapsed.TotalMicroseconds / count;
    }

    private static async Task<double> TimeConcurrentlyAsync<T>(int count, Func<int, Task<T>> operation)
    {
        int callers = PostgreSqlStoreBenchmarks.Callers;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
        {
            for (int k = 0; k < count / callers; k++)
            {
                await operation(i).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
        return sw.Elapsed.TotalMicroseconds / (count / callers * callers);
    }
}
