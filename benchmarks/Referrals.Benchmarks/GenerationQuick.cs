using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// A quick look at bulk generation while optimising (not a result to quote; see <see cref="CodeGenerationBenchmarks"/>):
/// <c>GenerateBulkAsync</c> of N codes into a fresh in-memory store or SQLite file, timed in rounds.
/// </summary>
internal static class GenerationQuick
{
    // Bytes this process read and wrote through system calls so far (Linux; zeros elsewhere).
    private static (long Read, long Written) Io()
    {
        if (!File.Exists("/proc/self/io"))
        {
            return (0, 0);
        }
        var fields = File.ReadAllLines("/proc/self/io").Select(l => l.Split(':')).ToDictionary(a => a[0], a => long.Parse(a[1].Trim(), CultureInfo.InvariantCulture));
        return (fields["rchar"], fields["wchar"]);
    }

    public static async Task RunAsync(int count, bool sqlite, int rounds)
    {
        var request = new CodeRequest { Program = BenchmarkData.Program, Medium = ShareMedium.Receipt };
        for (int round = 0; round < rounds; round++)
        {
            string? directory = null;
            SqliteReferralStore? file = null;
            IReferralStore store;
            if (sqlite)
            {
                directory = Path.Combine(Path.GetTempPath(), "referrals-genq-" + Path.GetRandomFileName());
                Directory.CreateDirectory(directory);
                store = file = SqliteReferralStore.OpenFile(Path.Combine(directory, "referrals.db"));
            }
            else
            {
                store = new InMemoryStore();
            }
            var service = new ReferralCodeService(store, BenchmarkData.Options(), new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0)));
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            var pause = GC.GetTotalPauseDuration();
            int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
            var (read0, written0) = Io();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            int n = 0;
            await foreach (var record in service.GenerateBulkAsync(request, count).ConfigureAwait(false))
            {
                n++;
            }
            sw.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(sqlite ? "sqlite" : "memory")}: {n / sw.Elapsed.TotalSeconds:F0} codes/s ({sw.Elapsed.TotalNanoseconds / n:F0} ns a code, {cpu.TotalNanoseconds / n:F0} ns of processor time a code, {(GC.GetAllocatedBytesForCurrentThread() - bytes) / n} B a code; GC pauses {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:F0} ms, {(sqlite ? $"sqlite memory {SQLitePCL.raw.sqlite3_memory_used() / 1024 / 1024} MB (high {SQLitePCL.raw.sqlite3_memory_highwater(0) / 1024 / 1024} MB), " : "")}managed {GC.GetTotalMemory(false) / 1024 / 1024} MB, collections {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}; read {(Io().Read - read0) / n} B, written {(Io().Written - written0) / n} B a code)"));
            if (file is not null)
            {
                file.Dispose();
                SqliteConnection.ClearAllPools();
                Directory.Delete(directory!, recursive: true);
            }
        }
    }
}
