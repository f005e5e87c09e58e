using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Benchmarks;

/// <summary>
/// Issue 17, item 5: does the cost of one conversion, and of one reward pass, grow with the referrer's history? One
/// influencer with <see cref="History"/> earlier referrals (see <see cref="HistoryScenario"/>), in memory and on a real
/// SQLite file. The column "Ratio to smallest N" (N=10 by default) divides each row's mean by the mean of the smallest history of the same method
/// and store in the run (the target of the issue: 100,000 within 1.5× of 10).
/// </summary>
/// <remarks>
/// <para>
/// Both methods write, and the history must stay <see cref="History"/>, so every iteration starts from the seeded state:
/// on SQLite a copy of a template file seeded once per history length (and build), in memory a new program seeded again
/// (there is no public way to copy an in-memory store). That is what the <c>[IterationSetup]</c> is for, and why an
/// iteration is one invocation. The setup also warms every path the measured invocation takes (see
/// <see cref="HistoryScenario.WarmConversionAsync"/> and <see cref="HistoryScenario.WarmRewardPassAsync"/>).
/// </para>
/// <para>
/// Seeding uses the public API, so it costs what the engine costs: before the narrow store contract a referral costs time
/// in proportion to the referrer's history, so seeding N is quadratic in N and 100,000 does not seed in reasonable time.
/// Restrict the history lengths with the environment variable <c>REFERRALS_HISTORY</c> (e.g. <c>10,1000,4000</c>) and the
/// stores with <c>REFERRALS_HISTORY_STORES</c> (<c>Memory</c>, <c>Sqlite</c>, <c>PostgreSql</c>; the default is the first two,
/// PostgreSQL needs the server of <c>REFERRALS_POSTGRES</c>: a template database per history length and build, a copy of it
/// per iteration).
/// </para>
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(Columns))]
public class HistoryLengthBenchmarks
{
    /// <summary>Conversions measured per invocation (an iteration), each of a new friend: the history grows from N to N + 3 within it.</summary>
    public const int ConversionsPerInvocation = 4;

    private HistoryScenario? _scenario;
    private string _file = "";
    private Conversion[] _conversions = [];
    private AttributionResult? _lastConversion;
    private RewardProcessingResult _lastPass;
    private int _iteration;
    private bool _reported;

    /// <summary>The history lengths: <c>REFERRALS_HISTORY</c> (comma-separated), else 10, 1,000 and 100,000.</summary>
    public static IEnumerable<int> Histories() => HistoryScenario.NumbersFrom("REFERRALS_HISTORY", [10, 1_000, 100_000]);

    /// <summary>The stores: <c>REFERRALS_HISTORY_STORES</c> (comma-separated), else memory and SQLite.</summary>
    public static IEnumerable<HistoryStore> Stores() => HistoryScenario.StoresFrom([HistoryStore.Memory, HistoryStore.Sqlite]);

    [ParamsSource(nameof(Stores))]
    public HistoryStore Store { get; set; }

    /// <summary>The referrer's earlier referrals.</summary>
    [ParamsSource(nameof(Histories))]
    public int History { get; set; }

    /// <summary>
    /// The program sizes: <c>REFERRALS_HISTORY_FILL</c> (comma-separated), else 0 and the largest history. A size above
    /// the history fills the program with other referrers' referrals up to that many in all, so that the rows differ in
    /// ana's history alone, not also in the size of the program (and of the heap or file) around it; 0 seeds ana's alone.
    /// </summary>
    public static IEnumerable<int> Fills() => HistoryScenario.NumbersFrom("REFERRALS_HISTORY_FILL", [0, Histories().Max()]);

    /// <summary>Referrals in the program in all (see <see cref="Fills"/>).</summary>
    [ParamsSource(nameof(Fills))]
    public int Fill { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Store == HistoryStore.PostgreSql)
        {
            HistoryScenario.EnsurePostgreSqlTemplateAsync(History, Fill).GetAwaiter().GetResult();
        }
        if (Store == HistoryStore.Sqlite)
        {
            // Seeded here (once per build and history length, kept across processes), not inside a measured iteration's setup.
            HistoryScenario.EnsureSqliteTemplateAsync(History, Fill).GetAwaiter().GetResult();
            _file = Path.Combine(Path.GetTempPath(), $"referrals-history-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.db");
        }
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

    [IterationSetup(Target = nameof(Conversion))]
    public void SetupConversion()
    {
        Open();
        _iteration++;
        int first = HistoryScenario.FirstNewFriend + (_iteration * (ConversionsPerInvocation + 1));
        _scenario!.WarmConversionAsync(first).GetAwaiter().GetResult();
        _conversions = new Conversion[ConversionsPerInvocation];
        for (int i = 0; i < _conversions.Length; i++)
        {
            _conversions[i] = _scenario.NewConversion(first + 1 + i, HistoryScenario.AnaCode, HistoryScenario.BenchInstant + Duration.FromSeconds(i));
        }
        _lastConversion = null;
        Settle();
    }

    /// <summary>
    /// A full, blocking collection at the end of the setup: the seeding just before (in memory, every iteration) leaves
    /// garbage in proportion to N, whose collection would otherwise land in the measured invocation — the cost of the
    /// setup, not of a conversion against a history of N.
    /// </summary>
    private static void Settle()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    [IterationCleanup(Target = nameof(Conversion))]
    public void CheckConversion()
    {
        var last = _lastConversion;
        HistoryScenario.Check(last is { IsAttributed: true } && last.Referrer == HistoryScenario.Ana, "the measured conversions credit ana");
        var rewards = _scenario!.Rewards.ListOrderRewardsAsync(HistoryScenario.Program, last!.OrderId).AsTask().GetAwaiter().GetResult();
        HistoryScenario.Check(rewards.Count == 1 && rewards[0].Beneficiary == HistoryScenario.Ana && rewards[0].Status == RewardStatus.Pending, "the measured conversion earned ana a pending reward");
        Close();
    }

    [IterationSetup(Target = nameof(RewardPass))]
    public void SetupRewardPass()
    {
        Open();
        _scenario!.WarmRewardPassAsync().GetAwaiter().GetResult();
        _lastPass = default;
        Settle();
    }

    [IterationCleanup(Target = nameof(RewardPass))]
    public void CheckRewardPass()
    {
        HistoryScenario.Check(_lastPass.Approved == 1 && _lastPass.Fulfilled == 1 && _lastPass.Failed == 0, $"the pass approved and fulfilled exactly one reward ({_lastPass})");
        Close();
    }

    /// <summary>One conversion of a new friend with the referrer's code (decision, fraud checks, reward planning, commit); time per conversion.</summary>
    [Benchmark(OperationsPerInvoke = ConversionsPerInvocation)]
    public AttributionResult? Conversion()
    {
        var attribution = _scenario!.Attribution;
        for (int i = 0; i < _conversions.Length; i++)
        {
            _scenario.Clock.Reset(_conversions[i].EventTime);
            _lastConversion = attribution.RecordConversionAsync(_conversions[i]).AsTask().GetAwaiter().GetResult();
        }
        return _lastConversion;
    }

    /// <summary>One reward pass (<see cref="RewardService.ProcessDueAsync"/>) with 1 due reward among N open: it is approved and fulfilled.</summary>
    [Benchmark]
    public RewardProcessingResult RewardPass()
    {
        _lastPass = _scenario!.Rewards.ProcessDueAsync().AsTask().GetAwaiter().GetResult();
        return _lastPass;
    }

    private void Open()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        _scenario = Store switch
        {
            HistoryStore.Sqlite => HistoryScenario.OpenSqliteCopyAsync(History, _file, Fill).GetAwaiter().GetResult(),
            HistoryStore.PostgreSql => HistoryScenario.OpenPostgreSqlCopyAsync(History, Fill).GetAwaiter().GetResult(),
            _ => HistoryScenario.SeedInMemoryAsync(History, Fill).GetAwaiter().GetResult(),
        };
        if (!_reported)
        {
            _reported = true;
            Console.WriteLine($"// history seed: {Store} with {History} referrals ({Math.Max(Fill, History)} in the program) ready in {started.Elapsed.TotalSeconds:F2} s");
        }
    }

    private void Close()
    {
        _scenario?.Dispose();
        _scenario = null;
    }

    /// <summary>
    /// The job: an iteration is one invocation after its own setup; 2 warm-up and 15 measured iterations. Tiered
    /// compilation is off in the benchmark process: with so few invocations the measured code would otherwise still be
    /// tier-0 code in some rows and optimised code in others (a longer history runs more seeding conversions, which
    /// promotes the code sooner), and the ratios would compare the JIT's tiers instead of the engine's work. Columns: the
    /// ratio to the smallest history, and the median, min and max.
    /// </summary>
    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddJob(Job.Default
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(15)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithEnvironmentVariables(new EnvironmentVariable("DOTNET_TieredCompilation", "0"), new EnvironmentVariable("DOTNET_ReadyToRun", "0"))
                .WithId("OneInvocationFullJit"));
            AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max, new RatioToSmallestHistoryColumn());
        }
    }

    /// <summary>A row's mean divided by the mean of the same method and store with the smallest history in the run.</summary>
    private sealed class RatioToSmallestHistoryColumn : IColumn
    {
        public string Id => nameof(RatioToSmallestHistoryColumn);

        public string ColumnName => "Ratio to smallest N";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Mean divided by the mean of the same method, job, store and program size with the smallest history (N) in this run";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var smallest = summary.BenchmarksCases
                .Where(c => c.Descriptor.WorkloadMethod == benchmarkCase.Descriptor.WorkloadMethod
                    && c.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo
                    && Equals(c.Parameters[nameof(Store)], benchmarkCase.Parameters[nameof(Store)])
                    && Equals(c.Parameters[nameof(Fill)], benchmarkCase.Parameters[nameof(Fill)]))
                .MinBy(c => (int)c.Parameters[nameof(History)]);
            double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            double? baseline = smallest is null ? null : summary[smallest]?.ResultStatistics?.Mean;
            return mean is { } m && baseline is { } b && b > 0 ? (m / b).ToString("F2", CultureInfo.InvariantCulture) : "?";
        }
    }
}
