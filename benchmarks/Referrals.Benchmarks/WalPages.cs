using System.Buffers.Binary;
using Microsoft.Data.Sqlite;

namespace Referrals.Benchmarks;

/// <summary>
/// Which B-trees one committed conversion writes, and how many pages of each (not a timing): the commit's cost on this
/// machine is mostly the pages it appends to the write-ahead log (~1.7 µs of kernel write path each, plus a checksum),
/// so this is the table to read before changing the schema. Runs the <see cref="SqliteStoreBenchmarks"/> setup, records
/// conversions, then decodes the log's frames since it last started over (frame header: page number, database size on
/// commit frames, the log's salts) and names each page by walking the B-trees from their root pages.
/// </summary>
internal static class WalPages
{
    public static async Task ReportAsync(int warmUp, int measured)
    {
        var benchmark = new SqliteStoreBenchmarks();
        await benchmark.SetupAsync();
        try
        {
            for (int i = 0; i < warmUp; i++)
            {
                benchmark.RecordConversion();
            }
            // A quiet moment: the checkpointer copies the log and it starts over at the next commit.
            await Task.Delay(3 * SqliteReferralStoreCheckpointAfterQuietMilliseconds);
            for (int i = 0; i < measured; i++)
            {
                benchmark.RecordConversion();
            }
            Report(benchmark.DataSource);
        }
        finally
        {
            benchmark.Cleanup();
        }
    }

    // Referrals.Sqlite's internal quiet interval (one second), restated here: the benchmarks see only its public API.
    private const int SqliteReferralStoreCheckpointAfterQuietMilliseconds = 1000;

    private static void Report(string database)
    {
        byte[] log;
        using (var file = new FileStream(database + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            log = new byte[file.Length];
            file.ReadExactly(log);
        }
        int pageSize = checked((int)BinaryPrimitives.ReadUInt32BigEndian(log.AsSpan(8)));
        uint salt1 = BinaryPrimitives.ReadUInt32BigEndian(log.AsSpan(16)), salt2 = BinaryPrimitives.ReadUInt32BigEndian(log.AsSpan(20));

        // Frames carry the log's current salts until the first left over from before it started over.
        var commits = new List<List<uint>>();
        var current = new List<uint>();
        for (long offset = 32; offset + 24 + pageSize <= log.Length; offset += 24 + pageSize)
        {
            var header = log.AsSpan((int)offset, 24);
            if (BinaryPrimitives.ReadUInt32BigEndian(header[8..]) != salt1 || BinaryPrimitives.ReadUInt32BigEndian(header[12..]) != salt2)
            {
                break;
            }
            current.Add(BinaryPrimitives.ReadUInt32BigEndian(header));
            if (BinaryPrimitives.ReadUInt32BigEndian(header[4..]) != 0)
            {
                commits.Add(current);
                current = [];
            }
        }

        // dbstat is not compiled into the bundled SQLite, so the B-trees are walked here: each page as it is now (its
        // latest frame in the log, else the database file), from each root page in sqlite_schema down through the
        // interior pages' child pointers. Overflow pages (rows over ~1 KB; none in this workload) stay unnamed.
        var latest = new Dictionary<uint, long>();
        int committedFrames = commits.Sum(c => c.Count);
        for (long offset = 32, frame = 0; frame < committedFrames; offset += 24 + pageSize, frame++)
        {
            latest[BinaryPrimitives.ReadUInt32BigEndian(log.AsSpan((int)offset))] = offset + 24;
        }
        var roots = new List<(string Name, uint Root)>();
        using (var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                roots.Add((reader.GetString(0), (uint)reader.GetInt64(1)));
            }
        }
        var owner = new Dictionary<uint, string> { [1] = "sqlite_schema" };
        using (var file = new FileStream(database, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            var buffer = new byte[pageSize];
            foreach (var (name, root) in roots)
            {
                var pending = new Stack<uint>([root]);
                while (pending.TryPop(out uint page))
                {
                    owner[page] = name;
                    if (latest.TryGetValue(page, out long at))
                    {
                        log.AsSpan((int)at, pageSize).CopyTo(buffer);
                    }
                    else
                    {
                        file.Position = (page - 1L) * pageSize;
                        file.ReadExactly(buffer);
                    }
                    int header = page == 1 ? 100 : 0;
                    byte type = buffer[header];
                    if (type is not (2 or 5))
                    {
                        continue; // a leaf
                    }
                    int cells = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(header + 3));
                    pending.Push(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(header + 8)));
                    for (int i = 0; i < cells; i++)
                    {
                        int cell = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(header + 12 + 2 * i));
                        pending.Push(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(cell)));
                    }
                }
            }
        }

        // One commit per conversion.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (uint page in commits.SelectMany(c => c))
        {
            string name = owner.TryGetValue(page, out var n) ? n : "(page not in use now)";
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        int total = counts.Values.Sum();
        Console.WriteLine($"{commits.Count} commits in the log since it started over; {total / (double)commits.Count:F2} pages ({pageSize} bytes) per commit");
        foreach (var (name, count) in counts.OrderByDescending(kv => kv.Value))
        {
            Console.WriteLine($"{count / (double)commits.Count,8:F2}  {name}");
        }
    }
}
