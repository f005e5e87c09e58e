using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Services;
using Referrals.Sqlite;

namespace Referrals.Benchmarks;

/// <summary>
/// A process whose codes live in SQLite, starting: the code index loaded from a file of 1,000,000 and 10,000,000 printed
/// receipt codes, against a bare sequential read of the same rows with Microsoft.Data.Sqlite in the same run (every
/// column the index reads, streamed, nothing allocated per row).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class CodeIndexStartBenchmarks
{
    [Params(1_000_000, 10_000_000)]
    public int CodeCount { get; set; }

    private string _file = null!;

    [GlobalSetup]
    public void Setup() => _file = CodeStoreTemplate.Ensure(CodeCount);

    [Benchmark(Baseline = true)]
    public long Baseline_BareSequentialRead() => CodeStoreTemplate.BareRead(_file);

    /// <summary>For reference: the same rows through <see cref="SqliteDataReader"/>, a string per text value.</summary>
    [Benchmark]
    public long ReaderWithStrings() => CodeStoreTemplate.ReaderRead(_file);

    [Benchmark]
    public int LoadIndex()
    {
        using var store = SqliteReferralStore.OpenFile(_file);
        var codes = new ReferralCodeService(store, BenchmarkData.Options(), SystemClock.Instance);
        codes.InitializeAsync().GetAwaiter().GetResult();
        if (codes.IndexedCount != CodeCount)
        {
            throw new InvalidOperationException($"The index holds {codes.IndexedCount} codes, not {CodeCount}.");
        }
        return codes.IndexedCount;
    }
}

/// <summary>
/// SQLite files of printed receipt codes for the start and memory measurements, written once per size and kept in the
/// temporary folder: the schema created by the store, then the codes rows inserted in code order with plain SQL (the rows
/// the index reads; seeding through the code service would take minutes at 10,000,000).
/// </summary>
internal static class CodeStoreTemplate
{
    private const string Columns = "code, display, program, owner, medium, kind, status, expires_at, max_uses, uses, version";

    public static string Ensure(int count)
    {
        string directory = Path.Combine(Path.GetTempPath(), "referrals-code-bench");
        Directory.CreateDirectory(directory);
        string file = Path.Combine(directory, $"codes-v2-{count.ToString(CultureInfo.InvariantCulture)}.db");
        if (File.Exists(file))
        {
            return file;
        }
        string seeding = file + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".seeding";
        var sw = Stopwatch.StartNew();
        using (SqliteReferralStore.OpenFile(seeding))
        {
            // the schema, at the store's current version
        }
        SqliteConnection.ClearAllPools();
        var codes = RandomCodes.Draw(count, seed: 2026);
        Array.Sort(codes, StringComparer.Ordinal);
        long created = Instant.FromUtc(2026, 11, 23, 9, 0).ToUnixTimeTicks();
        using (var connection = new SqliteConnection($"Data Source={seeding}"))
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA cache_size = -262144;";
                pragma.ExecuteNonQuery();
            }
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO codes (code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version, change_seq, changed_at) " +
                "VALUES ($code, $display, 'customers', NULL, 10, 3, 1, $created, NULL, NULL, 0, 1, $seq, $created);";
            var code = insert.Parameters.Add("$code", SqliteType.Text);
            var display = insert.Parameters.Add("$display", SqliteType.Text);
            insert.Parameters.Add("$created", SqliteType.Integer).Value = created;
            var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
            insert.Prepare();
            for (int i = 0; i < codes.Length; i++)
            {
                code.Value = codes[i];
                display.Value = RandomCodes.Record(codes[i], default).Display;
                seq.Value = i + 1L;
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        File.Move(seeding, file, overwrite: true);
        foreach (var suffix in (string[])["-wal", "-shm"])
        {
            File.Delete(seeding + suffix);
        }
        Console.WriteLine($"// code store template of {count} codes written in {sw.Elapsed.TotalSeconds:F1} s ({file})");
        return file;
    }

    /// <summary>
    /// Every codes row's columns the index reads, bare: a Microsoft.Data.Sqlite connection, its statement stepped through
    /// SQLitePCLRaw (the library under Microsoft.Data.Sqlite), integers read as integers and text as byte spans, nothing
    /// allocated per row (<see cref="SqliteDataReader"/> allocates a string or a buffer per text value). Returns a checksum
    /// so that nothing is skipped.
    /// </summary>
    public static long BareRead(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var db = connection.Handle!;
        if (SQLitePCL.raw.sqlite3_prepare_v2(db, $"SELECT {Columns} FROM codes;", out var statement) != SQLitePCL.raw.SQLITE_OK)
        {
            throw new InvalidOperationException(SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string());
        }
        long sum = 0;
        using (statement)
        {
            while (SQLitePCL.raw.sqlite3_step(statement) == SQLitePCL.raw.SQLITE_ROW)
            {
                sum += SQLitePCL.raw.sqlite3_column_blob(statement, 0).Length + SQLitePCL.raw.sqlite3_column_blob(statement, 1).Length
                    + SQLitePCL.raw.sqlite3_column_blob(statement, 2).Length + SQLitePCL.raw.sqlite3_column_blob(statement, 3).Length;
                for (int i = 4; i <= 10; i++)
                {
                    sum += SQLitePCL.raw.sqlite3_column_int64(statement, i);
                }
            }
        }
        return sum;
    }

    /// <summary>The same rows through <see cref="SqliteDataReader"/> (a string per text value): for reference.</summary>
    public static long ReaderRead(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM codes;";
        using var reader = command.ExecuteReader();
        long sum = 0;
        while (reader.Read())
        {
            sum += reader.GetString(0).Length + reader.GetString(1).Length + reader.GetString(2).Length + (reader.IsDBNull(3) ? 0 : reader.GetString(3).Length);
            for (int i = 4; i <= 10; i++)
            {
                sum += reader.IsDBNull(i) ? 0 : reader.GetInt64(i);
            }
        }
        return sum;
    }
}

/// <summary>
/// The memory and start of a process whose codes live in SQLite (not a timing to quote: BenchmarkDotNet's
/// <see cref="CodeIndexStartBenchmarks"/> is): GC heap after a full collection and RSS, before and after loading the index,
/// per code; the load's and a bare read's times, alternating.
/// </summary>
internal static class CodeIndexMemory
{
    public static async Task ReportAsync(int count, int rounds)
    {
        string file = CodeStoreTemplate.Ensure(count);
        await MemoryAsync(file, count);
        for (int round = 0; round < rounds; round++)
        {
            var sw = Stopwatch.StartNew();
            CodeStoreTemplate.BareRead(file);
            double bare = sw.Elapsed.TotalSeconds;
            sw.Restart();
            using (var store = SqliteReferralStore.OpenFile(file))
            {
                var codes = new ReferralCodeService(store, BenchmarkData.Options(), SystemClock.Instance);
                await codes.InitializeAsync();
            }
            double load = sw.Elapsed.TotalSeconds;
            sw.Restart();
            CodeStoreTemplate.ReaderRead(file);
            double reader = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"round {round + 1}: bare read {bare:F2} s, load {load:F2} s (ratio {load / bare:F2}), SqliteDataReader with strings {reader:F2} s");
        }
    }

    // One process, measured before and after its index is loaded (first, before any other work grew the heap).
    private static async Task MemoryAsync(string file, int count)
    {
        using var held = SqliteReferralStore.OpenFile(file);
        // The service exists before (its fixed parts, the blocklist and the link service, are no code's): what loading
        // the index adds is measured.
        var service = new ReferralCodeService(held, BenchmarkData.Options(), SystemClock.Instance);
        service.Resolve("ABCD-EFGHK");
        long heapBefore = Heap();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long rssBefore = Rss();
        await service.InitializeAsync();
        long heapAfter = Heap();
        // RSS after an aggressive collection, which also gives back the memory the collector holds free.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long rssAfter = Rss();
        Console.WriteLine($"codes: {count:N0} in {file}");
        Console.WriteLine($"GC heap after a full collection: {(heapAfter - heapBefore) / (double)count:F1} bytes per code ({(heapAfter - heapBefore) / 1048576.0:F1} MiB)");
        Console.WriteLine($"RSS after an aggressive collection: {(rssAfter - rssBefore) / (double)count:F1} bytes per code ({(rssAfter - rssBefore) / 1048576.0:F1} MiB; {rssBefore / 1048576.0:F0} MiB before, {rssAfter / 1048576.0:F0} MiB after)");
        Console.WriteLine($"index table: {service.Resolver.Index.TableBytes / (double)count:F1} bytes per code; codes held whole beside it: {service.Resolver.Index.WideCount}");
        GC.KeepAlive(service);
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }
}
