using BenchmarkDotNet.Attributes;
using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Benchmarks;

/// <summary>
/// Rule evaluation for one attributed conversion: a 3-tier ladder, a Black Friday boost and a monthly value cap, for a
/// referrer on their 7th referral. Baseline: the same arithmetic written by hand (tier lookup, multiply, round, cap).
/// </summary>
[MemoryDiagnoser]
public class RewardBenchmarks
{
    private static readonly Instant Friday = Instant.FromUtc(2026, 11, 27, 15, 0);
    private RewardRuleSet _rules = null!;
    private AttributionResult _attribution = null!;

    [GlobalSetup]
    public void Setup()
    {
        var zone = DateTimeZoneProviders.Tzdb["America/New_York"];
        _rules = RewardRuleSet.Compile(
            new RewardOptions
            {
                Rules =
                [
                    new RewardRuleOptions
                    {
                        Name = "ladder",
                        Tiers =
                        [
                            new RewardTierOptions { From = 1, Amount = 10m, Currency = "USD" },
                            new RewardTierOptions { From = 5, Amount = 15m, Currency = "USD" },
                            new RewardTierOptions { From = 10, Percent = 12.5m },
                        ],
                    },
                ],
                Boosts = [new RewardBoostOptions { Name = "black-friday", From = "2026-11-27", Until = "2026-12-01", Multiply = 2m }],
                Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 100m, Currency = "USD" }],
            },
            zone)!;
        _attribution = new AttributionResult
        {
            Program = new ProgramId("customers"),
            OrderId = "web-1001",
            Customer = new ParticipantId("bea"),
            Amount = new Money(86.40m, "USD"),
            ConversionTime = Friday,
            Referrer = new ParticipantId("ana"),
            Chain = [new ParticipantId("ana")],
        };
    }

    [Benchmark(Baseline = true)]
    public Money Baseline_HandWritten()
    {
        int referral = 7;
        decimal amount = referral >= 10 ? _attribution.Amount.Amount * 12.5m / 100m : referral >= 5 ? 15m : 10m;
        if (_attribution.ConversionTime >= Friday && _attribution.ConversionTime < Friday + Duration.FromDays(4))
        {
            amount *= 2m;
        }
        amount = Math.Min(Math.Round(amount, 2, MidpointRounding.AwayFromZero), 100m - 42.5m);
        return new Money(amount, "USD");
    }

    [Benchmark]
    public object Evaluate_ThreeTiersBoostCap()
    {
        Span<CapUsage> usage = stackalloc CapUsage[1];
        usage[0].Count = 3;
        usage[0].Value = 42.5m;
        return _rules.Evaluate(_attribution, 7, usage);
    }
}
