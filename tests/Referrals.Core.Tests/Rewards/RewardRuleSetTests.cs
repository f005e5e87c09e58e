using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Tests.Rewards;

public sealed class RewardRuleSetTests
{
    private static readonly Instant Friday = Instant.FromUtc(2026, 11, 27, 15, 0);

    private static RewardRuleSet Rules() => RewardRuleSet.Compile(
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
        DateTimeZoneProviders.Tzdb["America/New_York"])!;

    private static readonly AttributionResult Attribution = new()
    {
        Program = new ProgramId("customers"),
        OrderId = "web-1001",
        Customer = new ParticipantId("bea"),
        Amount = new Money(86.40m, "USD"),
        ConversionTime = Friday,
        Referrer = new ParticipantId("ana"),
        Chain = [new ParticipantId("ana")],
    };

    [Fact]
    public void Evaluation_allocates_the_drafts_it_returns_and_nothing_else()
    {
        var rules = Rules();
        Span<CapUsage> usage = stackalloc CapUsage[1];
        var warm = rules.Evaluate(Attribution, 7, usage); // JIT and static initialisation out of the way
        usage.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        var drafts = rules.Evaluate(Attribution, 7, usage);
        long evaluated = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        var same = new RewardDraft[] { drafts[0] with { } };
        long records = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(records, evaluated);
        Assert.Equal(new Money(30m, "USD"), drafts[0].Value); // tier 5-9 (15) doubled on Black Friday
        Assert.Equal(30m, usage[0].Value);
        Assert.NotNull(warm);
        Assert.NotNull(same);
    }

    [Fact]
    public void Cap_periods_follow_the_programs_calendar()
    {
        var rules = Rules();
        var t = Instant.FromUtc(2026, 11, 1, 12, 0); // Sunday 1 November 2026, the day daylight saving ends in New York

        var day = rules.PeriodOf(CapPeriod.Day, t);
        Assert.Equal(Instant.FromUtc(2026, 11, 1, 4, 0), day.Start);
        Assert.Equal(Instant.FromUtc(2026, 11, 2, 5, 0), day.End); // a 25-hour day
        var week = rules.PeriodOf(CapPeriod.Week, t);
        Assert.Equal(Instant.FromUtc(2026, 10, 26, 4, 0), week.Start); // Monday
        Assert.Equal(Instant.FromUtc(2026, 11, 2, 5, 0), week.End);
        var month = rules.PeriodOf(CapPeriod.Month, t);
        Assert.Equal(Instant.FromUtc(2026, 11, 1, 4, 0), month.Start);
        Assert.Equal(Instant.FromUtc(2026, 12, 1, 5, 0), month.End);
        Assert.Equal(Instant.FromUtc(2027, 1, 1, 5, 0), rules.PeriodOf(CapPeriod.Year, t).End);
        Assert.Equal(Instant.MaxValue, rules.PeriodOf(CapPeriod.Lifetime, t).End);
    }

    [Theory]
    [InlineData(12.345, "EUR", 12.35)]
    [InlineData(-12.345, "EUR", -12.35)]
    [InlineData(0.5, "JPY", 1)]
    [InlineData(1.0005, "KWD", 1.001)]
    [InlineData(99.5, "PTS", 100)]
    public void Money_rounds_half_away_from_zero_to_the_minor_unit(decimal amount, string currency, decimal expected) =>
        Assert.Equal(new Money(expected, currency), new Money(amount, currency).RoundToMinorUnit());

    [Fact]
    public void Money_never_mixes_currencies()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Money(1m, "EUR") + new Money(1m, "USD"));
        Assert.Contains("Cannot combine EUR and USD", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Money(1m, "EURO"));
        Assert.Equal("EUR", new Money(1m, "eur").Currency);
    }
}
