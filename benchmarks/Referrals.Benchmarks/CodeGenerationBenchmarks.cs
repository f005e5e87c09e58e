using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// Bulk generation (issue 21): <see cref="ReferralCodeService.GenerateBulkAsync"/> of <see cref="Count"/> printed codes
/// (8 random symbols, check character, the shipped blocklist, unique in the batch and the store, no owner) into a fresh
/// in-memory store and into a fresh SQLite file (every chunk committed), time per code. Baseline: the bare draw and
/// encoding of a code — random bytes from <see cref="RandomNumberGenerator"/> a chunk at a time, 5 bits per symbol, the
/// check symbol — into a span, written here so that it is the same code in every build measured.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class CodeGenerationBenchmarks
{
    public const int Count = 100_000;
    private const int Length = 8;
    private const int ChunkCodes = 1024;
    private const string Symbols = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    // GF(32) on x^5 + x^2 + 1, as CheckCharacter: the check symbol is the sum of α^k · symbol, k the distance from the check.
    private static readonly byte[][] Weighted = BuildWeights();

    private readonly byte[] _random = new byte[ChunkCodes * Length * 5 / 8];
    private readonly char[] _codes = new char[ChunkCodes * (Length + 1)];
    private readonly CodeRequest _request = new() { Program = BenchmarkData.Program, Medium = ShareMedium.Receipt };

    private ReferralCodeService _service = null!;
    private string? _directory;
    private SqliteReferralStore? _sqlite;

    [GlobalSetup]
    public void CheckBaseline()
    {
        Baseline_DrawAndEncode();
        for (int c = 0; c < ChunkCodes; c++)
        {
            if (!CheckCharacter.IsValid(_codes.AsSpan(c * (Length + 1), Length + 1)))
            {
                throw new InvalidOperationException($"The baseline's check symbol is wrong for {new string(_codes, c * (Length + 1), Length + 1)}.");
            }
        }
    }

    // An iteration setup of its own puts the baseline in the same job as the rows (one invocation per iteration), so
    // BenchmarkDotNet computes their ratios.
    [IterationSetup(Target = nameof(Baseline_DrawAndEncode))]
    public void SetupBaseline()
    {
    }

    /// <summary>The bare draw and encoding of one code: no blocklist, no uniqueness, no string, no record.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public int Baseline_DrawAndEncode()
    {
        int sum = 0;
        for (int done = 0; done < Count; done += ChunkCodes)
        {
            int n = Math.Min(ChunkCodes, Count - done);
            Span<byte> bytes = _random.AsSpan(0, n * Length * 5 / 8);
            RandomNumberGenerator.Fill(bytes);
            for (int c = 0; c < n; c++)
            {
                // 8 symbols are 40 bits: 5 bytes, read big-endian, 5 bits a symbol from the top.
                var b = bytes.Slice(c * 5, 5);
                ulong bits = ((ulong)b[0] << 32) | ((ulong)b[1] << 24) | ((ulong)b[2] << 16) | ((ulong)b[3] << 8) | b[4];
                var code = _codes.AsSpan(c * (Length + 1), Length + 1);
                int check = 0;
                for (int i = 0; i < Length; i++)
                {
                    int v = (int)(bits >> (35 - 5 * i)) & 0x1F;
                    code[i] = Symbols[v];
                    check ^= Weighted[Length - i][v];
                }
                code[Length] = Symbols[check];
            }
            sum += _codes[0];
        }
        return sum;
    }

    [IterationSetup(Target = nameof(GenerateBulk_InMemory))]
    public void SetupInMemory() =>
        _service = new ReferralCodeService(new InMemoryStore(), BenchmarkData.Options(), new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0)));

    [Benchmark(OperationsPerInvoke = Count)]
    public int GenerateBulk_InMemory() => GenerateAsync().GetAwaiter().GetResult();

    [IterationSetup(Target = nameof(GenerateBulk_Sqlite))]
    public void SetupSqlite()
    {
        _directory = Path.Combine(Path.GetTempPath(), "referrals-gen-" + Path.GetRandomFileName());
        Directory.CreateDirectory(_directory);
        _sqlite = SqliteReferralStore.OpenFile(Path.Combine(_directory, "referrals.db"));
        _service = new ReferralCodeService(_sqlite, BenchmarkData.Options(), new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0)));
    }

    /// <summary>Every chunk committed to the file (WAL, synchronous = NORMAL, the store's settings).</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int GenerateBulk_Sqlite() => GenerateAsync().GetAwaiter().GetResult();

    [IterationCleanup(Target = nameof(GenerateBulk_Sqlite))]
    public void CleanupSqlite()
    {
        long stored = CountRows();
        _sqlite!.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory!, recursive: true);
        if (stored != Count)
        {
            throw new InvalidOperationException($"The file holds {stored} codes after generating {Count}.");
        }
    }

    private long CountRows()
    {
        using var connection = new SqliteConnection($"Data Source={_sqlite!.DataSource}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM codes;";
        return (long)command.ExecuteScalar()!;
    }

    private async Task<int> GenerateAsync()
    {
        int n = 0;
        await foreach (var record in _service.GenerateBulkAsync(_request, Count).ConfigureAwait(false))
        {
            n += record.Display.Length > 0 ? 1 : 0;
        }
        if (n != Count)
        {
            throw new InvalidOperationException($"Generated {n} codes, asked for {Count}.");
        }
        return n;
    }

    private static byte[][] BuildWeights()
    {
        var exp = new int[31];
        var log = new int[32];
        int x = 1;
        for (int i = 0; i < 31; i++)
        {
            exp[i] = x;
            log[x] = i;
            x <<= 1;
            if ((x & 0b100000) != 0)
            {
                x ^= 0b100101;
            }
        }
        var weighted = new byte[Length + 1][];
        for (int k = 0; k <= Length; k++)
        {
            weighted[k] = new byte[32];
            for (int v = 1; v < 32; v++)
            {
                weighted[k][v] = (byte)exp[(log[v] + k) % 31];
            }
        }
        return weighted;
    }
}
