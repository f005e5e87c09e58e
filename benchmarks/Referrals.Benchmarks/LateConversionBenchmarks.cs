using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using NodaTime;
using Referrals.Attribution;

namespace Referrals.Benchmarks;

/// <summary>
/// Issue 18: a late conversion — one whose event time is before every one of the referrer's <see cref="Later"/> referrals
/// (a POS upload a day late) — costs what it changes, not the history. The influencer of <see cref="HistoryScenario"/>
/// (ladder 10 EUR, 15 EUR from the 5th referral, 12.5 % from the 20th; a monthly cap never reached) with
/// <see cref="Later"/> referrals; each invocation records one more friend's order dated before all of them, so every
/// referral's number moves up by one and exactly the referrals crossing a tier (the 4th becomes the 5th, the 19th the
/// 20th) are re-decided with an adjustment. The baseline is an ordinary conversion (after every referral) in the same
/// world and run: the "Ratio" column is the late conversion over it, per history.
/// </summary>
/// <remarks>
/// The world is seeded once per history (and store) in the global setup; the invocations add to it (a few hundred orders
/// over a run, against 1,000 or 100,000). <c>REFERRALS_LATE</c> (comma-separated) sets the histories, and
/// <c>REFERRALS_HISTORY_STORES</c> the stores (default: memory only; SQLite seeds a 100,000 template for several minutes).
/// Before measuring, one late conversion is recorded and the ledger entries it wrote are counted and printed (its own
/// reward and the adjustments of the referrals it moved across a tier).
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class LateConversionBenchmarks
{
    private HistoryScenario? _scenario;
    private string _file = "";
    private int _late;
    private int _inOrder;

    /// <summary>The histories: <c>REFERRALS_LATE</c>, else 1,000 and 100,000.</summary>
    public static IEnumerable<int> Histories() => HistoryScenario.NumbersFrom("REFERRALS_LATE", [1_000, 100_000]);

    /// <summary>The stores: <c>REFERRALS_HISTORY_STORES</c>, else memory.</summary>
    public static IEnumerable<HistoryStore> Stores() => HistoryScenario.StoresFrom([HistoryStore.Memory]);

    [ParamsSource(nameof(Stores))]
    public HistoryStore Store { get; set; }

    /// <summary>The referrer's referrals that the late conversion comes before.</summary>
    [ParamsSource(nameof(Histories))]
    public int Later { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        if (Store == HistoryStore.Sqlite)
        {
            _file = Path.Combine(Path.GetTempPath(), $"referrals-late-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.db");
            _scenario = HistoryScenario.OpenSqliteCopyAsync(Later, _file).GetAwaiter().GetResult();
        }
        else
        {
            _scenario = HistoryScenario.SeedInMemoryAsync(Later).GetAwaiter().GetResult();
        }
        _scenario.Clock.Reset(HistoryScenario.BenchInstant);
        Console.WriteLine($"// history seed: {Store} with {Later} referrals ready in {started.Elapsed.TotalSeconds:F2} s");

        long before = _scenario.LedgerEntriesAsync().GetAwaiter().GetResult();
        var result = LateConversion();
        HistoryScenario.Check(result is { IsAttributed: true } && result.Referrer == HistoryScenario.Ana, "the late conversion credits ana");
        var decision = _scenario.Rewards.FindDecisionAsync(HistoryScenario.Program, result!.OrderId).AsTask().GetAwaiter().GetResult();
        HistoryScenario.Check(decision is { ReferralNumber: 1 }, $"the late conversion is ana's referral 1 (is {decision?.ReferralNumber})");
        long written = _scenario.LedgerEntriesAsync().GetAwaiter().GetResult() - before;
        // Its own 10 EUR; the old 4th referral (now the 5th) topped up by 5 EUR; the old 19th (now the 20th) reduced from
        // 15 EUR to 12.5 % of 50 EUR.
        HistoryScenario.Check(written == 3, $"the late conversion wrote 3 ledger entries (wrote {written})");
        Console.WriteLine($"// late conversion before {Later} referrals ({Store}): {written} ledger entries written");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _scenario?.Dispose();
        _scenario = null;
        if (_file.Length > 0)
        {
            HistoryScenario.DeleteDatabase(_file);
        }
    }

    /// <summary>An ordinary conversion of a new friend, after every referral: the baseline.</summary>
    [Benchmark(Baseline = true)]
    public AttributionResult? InOrderConversion()
    {
        int n = ++_inOrder;
        var at = HistoryScenario.BenchInstant + Duration.FromSeconds(n);
        _scenario!.Clock.Reset(at);
        return _scenario.Attribution.RecordConversionAsync(_scenario.NewConversion(HistoryScenario.FirstNewFriend + n, HistoryScenario.AnaCode, at)).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A conversion of a new friend dated before every referral of the referrer, recorded now.</summary>
    [Benchmark]
    public AttributionResult? LateConversion()
    {
        int n = ++_late;
        var at = HistoryScenario.BenchInstant - HistoryScenario.Hold - Duration.FromHours(2) - Duration.FromSeconds(n);
        _scenario!.Clock.Reset(HistoryScenario.BenchInstant + Duration.FromDays(1));
        return _scenario.Attribution.RecordConversionAsync(_scenario.NewConversion((2 * HistoryScenario.FirstNewFriend) + n, HistoryScenario.AnaCode, at)).AsTask().GetAwaiter().GetResult();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default
                .WithLaunchCount(1)
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithInvocationCount(8)
                .WithUnrollFactor(1)
                .WithId("EightInvocations"));
        }
    }
}
