using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NodaTime;
using Referrals.Attribution;
using Referrals.PostgreSql;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Benchmarks;

/// <summary>
/// The PostgreSQL store with the 1,000,000 codes of <see cref="SqliteStoreBenchmarks"/> (100,000 referrers with 10 codes
/// each), the server on loopback on the same machine (<c>REFERRALS_POSTGRES</c>, default the development server): one
/// whole conversion per transaction — a new friend presents a code at web checkout; the order is claimed, the code
/// recorded as a touch, attribution, all built-in fraud checks and a double-sided reward decided, and the unit of work
/// committed — from 1 caller and from 8 concurrent callers, and 100 per call of the batch API. Baseline: one durable
/// single-row INSERT per transaction (autocommit, <c>synchronous_commit</c> on, the server's default) into a scratch table
/// of the same database, from 1 connection and from 8 concurrent ones: the least a durable commit costs on this server.
/// </summary>
/// <remarks>
/// Each benchmark process gets a fresh database, a copy of a template seeded once through the store (see
/// <see cref="PostgreSqlBench"/>; <c>pg-seed</c> in Program.cs seeds it again and reports how long that took). Times of
/// the 8-connection rows are per operation (<see cref="BenchmarkAttribute.OperationsPerInvoke"/>): an invocation runs
/// <see cref="Callers"/> callers, each doing <see cref="PerCaller"/> operations one after the other.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(FewIterations))]
public class PostgreSqlStoreBenchmarks
{
    public const int CodeCount = 1_000_000;
    public const int Callers = 8;
    public const int PerCaller = 16;
    public const int BatchSize = 100;

    private string _database = null!;
    private ServiceProvider? _provider;
    private AttributionService _attribution = null!;
    private ConcurrentStepClock _clock = null!;
    private string[] _displays = null!;
    private NpgsqlConnection[] _scratch = [];
    private NpgsqlCommand[] _inserts = [];
    private int _next;
    private PostgreSqlSameRows.Batch[] _sameRows = [];
    private PostgreSqlSameRows.Batch[] _sameWrites = [];
    private PostgreSqlSameRows.Batch[] _sameKeysOnly = [];
    private PostgreSqlSameRows.Batch[] _sameSplit = [];
    private PostgreSqlSameRows.Batch[] _least = [];

    /// <summary>Codes in the database (the benchmarks: <see cref="CodeCount"/>; fewer for a quick look).</summary>
    public int Codes { get; set; } = CodeCount;

    /// <summary>
    /// Few iterations, no unrolling (an operation takes milliseconds): the class, five processes each copying the template
    /// and loading a million codes, finishes in a few minutes.
    /// </summary>
    private sealed class FewIterations : ManualConfig
    {
        public FewIterations() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(8).WithUnrollFactor(1).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(750)));
    }

    [GlobalSetup(Targets = [nameof(Baseline_RawInsert_1Connection), nameof(RawInsert_8Connections)])]
    public void SetupRawInsert() => SetupAsync(engine: false).GetAwaiter().GetResult();

    [GlobalSetup(Targets = [nameof(RecordConversion_1Connection), nameof(RecordConversion_8Connections), nameof(RecordConversions_Batch)])]
    public void SetupConversions() => SetupAsync(engine: true).GetAwaiter().GetResult();

    [GlobalSetup(Targets = [nameof(SameRows_HandWritten_1Connection), nameof(SameRows_HandWritten_8Connections), nameof(SameRowsWritesOnly_HandWritten_8Connections), nameof(SameRowsWritesPrimaryKeysOnly_HandWritten_8Connections), nameof(SameRowsThreeRoundTrips_HandWritten_8Connections), nameof(LeastDesign_HandWritten_1Connection), nameof(LeastDesign_HandWritten_8Connections)])]
    public void SetupSameRows() => SetupAsync(engine: true, sameRows: true).GetAwaiter().GetResult();

    /// <summary>A fresh database; with <paramref name="engine"/>, the library on it with the code index loaded and one conversion checked.</summary>
    public async Task SetupAsync(bool engine, bool sameRows = false)
    {
        (_database, _displays) = await PostgreSqlBench.CreateRunDatabaseAsync(Codes).ConfigureAwait(false);
        string connectionString = PostgreSqlBench.ConnectionString(_database, maxPoolSize: 2 * Callers + 4);

        _scratch = new NpgsqlConnection[Callers];
        _inserts = new NpgsqlCommand[Callers];
        for (int i = 0; i < Callers; i++)
        {
            _scratch[i] = new NpgsqlConnection(connectionString);
            await _scratch[i].OpenAsync().ConfigureAwait(false);
            if (i == 0)
            {
                await using var create = new NpgsqlCommand("CREATE TABLE public.bench_scratch (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL);", _scratch[0]);
                await create.ExecuteNonQueryAsync().ConfigureAwait(false);
                await using var check = new NpgsqlCommand("SHOW synchronous_commit", _scratch[0]);
                Check((string?)await check.ExecuteScalarAsync().ConfigureAwait(false) == "on", "synchronous_commit is on");
            }
            _inserts[i] = new NpgsqlCommand("INSERT INTO public.bench_scratch (payload) VALUES ('x');", _scratch[i]);
        }
        if (!engine)
        {
            return;
        }

        _clock = new ConcurrentStepClock(PostgreSqlBench.Start);
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(_clock);
        services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
            o.Programs[BenchmarkData.Program.Value] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(14),
                    Rules =
                    [
                        new RewardRuleOptions { Name = "referrer-credit", For = RewardRole.Referrer, Amount = 10m, Currency = "EUR" },
                        new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Amount = 5m, Currency = "EUR" },
                    ],
                },
            };
        }).UsePostgreSql(connectionString);
        _provider = services.BuildServiceProvider();
        var codes = _provider.GetRequiredService<ReferralCodeService>();
        _attribution = _provider.GetRequiredService<AttributionService>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await codes.InitializeAsync().ConfigureAwait(false); // what the hosted service does at start
        Console.WriteLine($"// code index loaded from the database in {sw.Elapsed.TotalSeconds:F1} s");
        Check(codes.IndexedCount == Codes, "the index holds every code");
        Check(await RecordConversionAsync().ConfigureAwait(false) == ChannelCombination.OnlineToOnline, "a conversion is attributed");

        // The template's conversion tables are empty and were analysed so: until autovacuum analyses them again (a minute
        // or more into the run) the planner believes them empty and may scan a whole table by the wrong index. A running
        // shop's tables have statistics; so do these, after a thousand conversions.
        for (int i = 0; i < WarmUpConversions; i++)
        {
            await RecordConversionAsync().ConfigureAwait(false);
        }
        await using (var analyze = new NpgsqlCommand("ANALYZE", _scratch[0]))
        {
            await analyze.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        if (sameRows)
        {
            var template = await PostgreSqlSameRows.CaptureAsync(_scratch[0]).ConfigureAwait(false);
            Console.WriteLine($"// same rows, hand-written: {template.Describe()}");
            _sameRows = new PostgreSqlSameRows.Batch[Callers];
            _sameWrites = new PostgreSqlSameRows.Batch[Callers];
            _sameKeysOnly = new PostgreSqlSameRows.Batch[Callers];
            _sameSplit = new PostgreSqlSameRows.Batch[Callers];
            _least = new PostgreSqlSameRows.Batch[Callers];
            for (int i = 0; i < Callers; i++)
            {
                _sameRows[i] = await template.PrepareAsync(_scratch[i], reads: true).ConfigureAwait(false);
                _sameWrites[i] = await template.PrepareAsync(_scratch[i], reads: false).ConfigureAwait(false);
                _sameKeysOnly[i] = await template.PrepareAsync(_scratch[i], reads: false, primaryKeysOnly: true).ConfigureAwait(false);
                _sameSplit[i] = await template.PrepareAsync(_scratch[i], reads: true, split: true).ConfigureAwait(false);
                _least[i] = await template.PrepareLeastAsync(_scratch[i]).ConfigureAwait(false);
            }
        }
    }

    private const int WarmUpConversions = 1000;

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var batch in _sameRows.Concat(_sameWrites).Concat(_sameKeysOnly).Concat(_sameSplit).Concat(_least))
        {
            batch.Dispose();
        }
        foreach (var insert in _inserts)
        {
            insert.Dispose();
        }
        foreach (var connection in _scratch)
        {
            connection.Dispose();
        }
        _provider?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        PostgreSqlBench.DropAsync(_database).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Baseline_RawInsert_1Connection() => _inserts[0].ExecuteNonQueryAsync();

    /// <summary>The same insert from <see cref="Callers"/> connections at once; time per insert.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task RawInsert_8Connections() => Concurrently(async i =>
    {
        for (int k = 0; k < PerCaller; k++)
        {
            await _inserts[i].ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    });

    [Benchmark]
    public Task<ChannelCombination?> RecordConversion_1Connection() => RecordConversionAsync();

    /// <summary>Conversions from <see cref="Callers"/> concurrent callers, one per transaction; time per conversion.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task RecordConversion_8Connections() => Concurrently(async _ =>
    {
        for (int k = 0; k < PerCaller; k++)
        {
            Check(await RecordConversionAsync().ConfigureAwait(false) is not null, "every conversion is attributed");
        }
    });

    /// <summary>
    /// The rows a conversion writes and the reads it makes, hand-written in one batch (one round trip, one durable commit,
    /// no engine; see <see cref="PostgreSqlSameRows"/>), from 1 connection: the database's share of a conversion.
    /// </summary>
    [Benchmark]
    public Task<int> SameRows_HandWritten_1Connection() => _sameRows[0].ExecuteAsync();

    /// <summary>The same from <see cref="Callers"/> connections at once; time per operation.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task SameRows_HandWritten_8Connections() => EachCallerRepeats(_sameRows);

    /// <summary>The conversion's rows alone (no reads), hand-written in one batch, from <see cref="Callers"/> connections.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task SameRowsWritesOnly_HandWritten_8Connections() => EachCallerRepeats(_sameWrites);

    /// <summary>
    /// The same reads and writes sent as a conversion sends them — an explicit transaction and the reads, a savepoint and
    /// the writes, the commit: three round trips — with no engine in between, from <see cref="Callers"/> connections.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task SameRowsThreeRoundTrips_HandWritten_8Connections() => EachCallerRepeats(_sameSplit);

    /// <summary>
    /// The conversion's rows alone into copies of their tables with the primary keys and no other index, from
    /// <see cref="Callers"/> connections: the least these eight rows cost whatever a store indexes.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task SameRowsWritesPrimaryKeysOnly_HandWritten_8Connections() => EachCallerRepeats(_sameKeysOnly);

    /// <summary>
    /// The least a conversion can cost in any store design that reads before it decides and keeps what it decided (see
    /// <see cref="PostgreSqlSameRows.PrepareLeastAsync"/>: two round trips, one event row and one state row, primary keys
    /// only), from 1 connection: a floor for the 1-connection target.
    /// </summary>
    [Benchmark]
    public Task<int> LeastDesign_HandWritten_1Connection() => _least[0].ExecuteAsync();

    /// <summary>The same from <see cref="Callers"/> connections at once; time per operation: a floor for the 8-connection target.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task LeastDesign_HandWritten_8Connections() => EachCallerRepeats(_least);

    /// <summary>One least-design operation on the <paramref name="caller"/>-th scratch connection (for the quick mode).</summary>
    public Task<int> LeastAsync(int caller) => _least[caller].ExecuteAsync();

    /// <summary>One same-rows operation on the <paramref name="caller"/>-th scratch connection (for the quick mode).</summary>
    public Task<int> SameRowsAsync(int caller, bool reads, bool primaryKeysOnly = false, bool split = false) =>
        (split ? _sameSplit : reads ? _sameRows : primaryKeysOnly ? _sameKeysOnly : _sameWrites)[caller].ExecuteAsync();

    /// <summary>The same conversions, <see cref="BatchSize"/> per call of the batch API (one transaction); time per conversion.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<int> RecordConversions_Batch()
    {
        var batch = new Conversion[BatchSize];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = NextConversion();
        }
        var results = await _attribution.RecordConversionsAsync(batch).ConfigureAwait(false);
        return results.Count(r => r.IsAttributed);
    }

    /// <summary>One conversion through the public API (for the quick mode too).</summary>
    public async Task<ChannelCombination?> RecordConversionAsync()
    {
        var result = await _attribution.RecordConversionAsync(NextConversion()).ConfigureAwait(false);
        return result.IsAttributed ? result.Combination : null;
    }

    /// <summary>One raw insert on the <paramref name="caller"/>-th scratch connection (for the quick mode).</summary>
    public Task<int> RawInsertAsync(int caller) => _inserts[caller].ExecuteNonQueryAsync();

    /// <summary>The connection string of this run's database.</summary>
    public string Database => _database;

    // Each of the callers runs its own connection's batch PerCaller times, one after the other.
    private static Task EachCallerRepeats(PostgreSqlSameRows.Batch[] batches) => Concurrently(async i =>
    {
        for (int k = 0; k < PerCaller; k++)
        {
            await batches[i].ExecuteAsync().ConfigureAwait(false);
        }
    });

    private static async Task Concurrently(Func<int, Task> caller)
    {
        var tasks = new Task[Callers];
        for (int i = 0; i < Callers; i++)
        {
            int index = i;
            tasks[i] = Task.Run(() => caller(index));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    // As SqliteStoreBenchmarks.NextConversion: a new customer each time, the code of the n-th conversion the
    // (n × 7919 mod 1,000,000)-th generated, so consecutive conversions credit different referrers. Orders are a second
    // apart; concurrent callers take their numbers and times from one counter.
    private Conversion NextConversion()
    {
        int n = Interlocked.Increment(ref _next);
        var at = PostgreSqlBench.Start + Duration.FromSeconds(n);
        _clock.AtLeast(at);
        return BenchmarkData.StoreConversion(n, at, _displays);
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: {what} does not hold.");
        }
    }
}
