using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// Issue 23's replay figure: the what-if replay of a program's history of <see cref="ReplayHistory.Conversions"/>
/// conversions (10,000 referrers, one year, a ladder with three tiers, a boost, a monthly cap and a friend's coupon;
/// refunds on one order in 20) under a candidate rule set (15 EUR from the 5th referral, double on Black Friday, a 100 EUR
/// monthly cap), on the in-memory store, per conversion. Beside it, in the same run, the live in-memory attribution it is
/// compared with: <see cref="RecordConversion_Live"/> records one more conversion of the same shape with the same rules
/// into a store holding the same history. Run with <c>--filter '*ReplayBenchmarks*' '*AttributionBenchmarks*'</c> to have
/// issue 16's attribution benchmark in the same run too.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class ReplayBenchmarks
{
    private ReplayHistory _history = null!;
    private ReplayQuery _candidate = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _history = ReplayHistory.SeedAsync(ReplayHistory.Conversions).GetAwaiter().GetResult();
        _candidate = new ReplayQuery { Program = ReplayHistory.Program, Rules = ReplayHistory.CandidateRules() };
    }

    /// <summary>The whole history replayed under the candidate rules; per conversion.</summary>
    [Benchmark(OperationsPerInvoke = ReplayHistory.Conversions)]
    public ReplayResult Replay_Candidate() => _history.Reports.ReplayAsync(_candidate).AsTask().GetAwaiter().GetResult();

    /// <summary>One conversion of the same shape recorded live with the live rules, into the store holding the history.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ReplayHistory.LivePerInvoke)]
    public void RecordConversion_Live()
    {
        for (int i = 0; i < ReplayHistory.LivePerInvoke; i++)
        {
            _history.RecordLive(_next++);
        }
    }
}

/// <summary>A program's recorded history for the replay figures, recorded through the public services in event-time order.</summary>
internal sealed class ReplayHistory
{
    public const int Conversions = 1_000_000;
    public const int LivePerInvoke = 20_000;
    private const int Referrers = 10_000;
    public static readonly ProgramId Program = new("customers");
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 1, 8, 0);

    private readonly AttributionService _attribution;
    private readonly RewardService _rewards;
    private readonly string[] _codes;
    private readonly FakeClock _clock;
    private readonly int _conversions;

    private ReplayHistory(AttributionService attribution, RewardService rewards, ProgramReports reports, string[] codes, FakeClock clock, int conversions, IReferralStore store)
    {
        Store = store;
        _attribution = attribution;
        _rewards = rewards;
        Reports = reports;
        _codes = codes;
        _clock = clock;
        _conversions = conversions;
    }

    public ProgramReports Reports { get; }

    public IReferralStore Store { get; }

    /// <summary>The live rules: 10 EUR, 15 EUR from the 3rd referral, 5 % of the order from the 10th; a 5 EUR coupon for the friend; double in the first week of December; at most 150 EUR a month.</summary>
    public static RewardOptions LiveRules() => new()
    {
        Rules =
        [
            new RewardRuleOptions
            {
                Name = "ladder",
                Tiers =
                [
                    new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                    new RewardTierOptions { From = 3, Amount = 15m, Currency = "EUR" },
                    new RewardTierOptions { From = 10, Percent = 5m },
                ],
            },
            new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Kind = RewardKind.Coupon, Amount = 5m, Currency = "EUR" },
        ],
        Boosts = [new RewardBoostOptions { Name = "advent", From = "2026-12-01", Until = "2026-12-08", Multiply = 2m }],
        Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 150m, Currency = "EUR" }],
    };

    /// <summary>The candidate: 10 EUR, 15 EUR from the 5th referral; the coupon; double on Black Friday; at most 100 EUR a month.</summary>
    public static RewardOptions CandidateRules() => new()
    {
        Rules =
        [
            new RewardRuleOptions
            {
                Name = "ladder",
                Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" }],
            },
            new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Kind = RewardKind.Coupon, Amount = 5m, Currency = "EUR" },
        ],
        Boosts = [new RewardBoostOptions { Name = "black-friday", From = "2026-11-27", Until = "2026-11-28", Multiply = 2m }],
        Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 100m, Currency = "EUR" }],
    };

    /// <summary>
    /// <paramref name="conversions"/> new customers each buying with a referrer's code (referrers taken in a scrambled
    /// order), spread evenly over 2026 in event-time order; one order in 20 refunded (in full or half) the next day.
    /// </summary>
    public static async Task<ReplayHistory> SeedAsync(int conversions, string? sqliteFile = null)
    {
        var options = BenchmarkData.Options();
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin", Rewards = LiveRules() };
        var clock = new FakeClock(Start);
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        IReferralStore store = sqliteFile is null ? new InMemoryStore() : Referrals.Sqlite.SqliteReferralStore.OpenFile(sqliteFile);
        var codes = new ReferralCodeService(store, wrapped, clock, CryptoRandomSource.Instance, new Links.ShareLinkService(options.Links), null);
        var attribution = new AttributionService(wrapped, clock, codes, store, Array.Empty<IReferralNotifier>(), null);
        var rewards = new RewardService(wrapped, clock, store, [], Array.Empty<IReferralNotifier>(), null);
        var displays = new string[Referrers];
        for (int i = 0; i < Referrers; i++)
        {
            displays[i] = (await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId($"r-{i}"), Medium = ShareMedium.Email })).Display;
        }
        var history = new ReplayHistory(attribution, rewards, new ProgramReports(wrapped, store), displays, clock, conversions, store);
        var watch = Stopwatch.StartNew();
        const int Batch = 1_000;
        var batch = new List<Conversion>(Batch);
        for (int n = 0; n < conversions; n++)
        {
            batch.Add(history.ConversionOf(n));
            if (batch.Count == Batch || n == conversions - 1)
            {
                clock.Reset(batch[^1].EventTime);
                await attribution.RecordConversionsAsync(batch);
                foreach (var c in batch)
                {
                    int k = int.Parse(c.OrderId.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture);
                    if (k % 20 == 7)
                    {
                        await rewards.RecordRefundAsync(new Refund
                        {
                            Program = Program,
                            OrderId = c.OrderId,
                            RefundId = "rf-" + c.OrderId,
                            Amount = new Money(k % 40 == 7 ? c.Amount.Amount : c.Amount.Amount / 2, "EUR"),
                            EventTime = c.EventTime + Duration.FromDays(1),
                        });
                    }
                }
                batch.Clear();
            }
        }
        Console.WriteLine($"// seeded {conversions:N0} conversions in {watch.Elapsed.TotalSeconds:F1} s");
        return history;
    }

    /// <summary>The n-th conversion: customer f-n, 20 to 120 EUR, with the code of a referrer picked by a scramble of n.</summary>
    private Conversion ConversionOf(int n) => new()
    {
        Program = Program,
        OrderId = $"o-{n:D8}",
        Customer = new ParticipantId($"f-{n}"),
        Amount = new Money(20m + (n * 37 % 100), "EUR"),
        EventTime = Start + Duration.FromSeconds((long)n * 31_000_000 / Math.Max(_conversions, 1)),
        PresentedCode = _codes[(int)((n * 7919L) % Referrers)],
    };

    /// <summary>Records the <paramref name="n"/>-th conversion after the history, live (the clock moved to it).</summary>
    public void RecordLive(int n)
    {
        var c = ConversionOf(_conversions + n) with { EventTime = Start + Duration.FromDays(366) + Duration.FromSeconds(n) };
        _clock.Reset(c.EventTime);
        var task = _attribution.RecordConversionAsync(c);
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// replay-quick [N] [ROUNDS]: seeds N conversions, replays them ROUNDS times (time per conversion), records 20,000 live
    /// for comparison, and samples the heap during one more replay (full collections at tenths of the history): what the
    /// replay holds as it reads more of the history.
    /// </summary>
    public static async Task QuickAsync(int conversions, int rounds, string? sqliteFile = null)
    {
        var history = await SeedAsync(conversions, sqliteFile);
        var query = new ReplayQuery { Program = Program, Rules = CandidateRules() };
        for (int r = 0; r < rounds; r++)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
            var watch = Stopwatch.StartNew();
            var result = await history.Reports.ReplayAsync(query);
            watch.Stop();
            Console.WriteLine($"replay {r + 1}: {watch.Elapsed.TotalSeconds:F2} s, {watch.Elapsed.TotalNanoseconds / conversions:F0} ns/conversion, {(GC.GetAllocatedBytesForCurrentThread() - allocated) / conversions} B/conversion allocated, gen0 {GC.CollectionCount(0) - gen0}, gen2 {GC.CollectionCount(2) - gen2}; paid {string.Join(" ", result.Paid.Amounts)}, would pay {string.Join(" ", result.WouldPay.Amounts)}; gainers {result.Gainers}, losers {result.Losers}");
        }
        for (int r = 0; r < 2; r++)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
            var read = Stopwatch.StartNew();
            int n = 0;
            await foreach (var order in ProgramHistory.OrdersAsync(history.Store, Program, Instant.MinValue, Instant.MaxValue, default))
            {
                n += order.Rewards.Count;
            }
            read.Stop();
            Console.WriteLine($"reading the history alone: {read.Elapsed.TotalNanoseconds / conversions:F0} ns/conversion ({n:N0} rewards), {(GC.GetAllocatedBytesForCurrentThread() - allocated) / conversions} B/conversion allocated, gen0 {GC.CollectionCount(0) - gen0}, gen2 {GC.CollectionCount(2) - gen2}");
        }
        var engineOnly = new List<HistoryOrder>();
        await foreach (var order in ProgramHistory.OrdersAsync(history.Store, Program, Instant.MinValue, Instant.MaxValue, default))
        {
            engineOnly.Add(order);
        }
        for (int r = 0; r < 2; r++)
        {
            var engine = new ReplayEngine(RewardRuleSet.Compile(CandidateRules(), NodaTime.DateTimeZoneProviders.Tzdb["Europe/Berlin"]));
            var decide = Stopwatch.StartNew();
            foreach (var order in engineOnly)
            {
                engine.Decide(order);
            }
            decide.Stop();
            Console.WriteLine($"the engine alone: {decide.Elapsed.TotalNanoseconds / conversions:F0} ns/conversion");
        }
        engineOnly.Clear();
        var live = Stopwatch.StartNew();
        for (int i = 0; i < LivePerInvoke; i++)
        {
            history.RecordLive(i);
        }
        live.Stop();
        Console.WriteLine($"live: {live.Elapsed.TotalNanoseconds / LivePerInvoke:F0} ns/conversion ({LivePerInvoke:N0} recorded after the history)");

        long before = GC.GetTotalMemory(forceFullCollection: true);
        int seen = 0;
        var samples = new List<string>();
        await history.Reports.ReplayObservedAsync(query, (_, _) =>
        {
            if (++seen % (conversions / 10) == 0)
            {
                samples.Add($"{seen:N0}: {(GC.GetTotalMemory(forceFullCollection: true) - before) / 1024.0 / 1024.0:F1} MB");
            }
        }, default);
        Console.WriteLine("heap held by the replay above the store, after n conversions read: " + string.Join(", ", samples));
    }
}
