using System.Globalization;
using NodaTime;
using Referrals.Attribution;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Tests.Rewards;

namespace Referrals.Tests.Reporting;

/// <summary>Issue 23, the program report: one shop's week read back by channel combination, store, period and referrer.</summary>
public sealed class ProgramReportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static decimal Eur(IReadOnlyList<Money> amounts) => amounts.Where(m => m.Currency == "EUR").Sum(m => m.Amount);

    /// <summary>
    /// r's friends f0-f4 buy online with r's code (an e-mail share: online → online), f5 shows it at the Berlin store's
    /// till (online → offline), f6 buys with no code, s's friend f7 buys online on Sunday 29 November, and the week after
    /// f8 buys with r's code; f1's order is refunded in full. 10 EUR per referral to the referrer, 5 EUR coupon to the friend.
    /// </summary>
    private static async Task<EventOrderWorld> WeekAsync()
    {
        string[] friends = [.. Enumerable.Range(0, 9).Select(i => "f" + i.ToString(CultureInfo.InvariantCulture))];
        var w = await EventOrderWorld.CreateAsync(
            p => p.Rewards = new RewardOptions
            {
                Rules =
                [
                    new RewardRuleOptions { Name = "per-referral", Amount = 10m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Kind = RewardKind.Coupon, Amount = 5m, Currency = "EUR" },
                ],
            },
            ["r", "s"],
            friends);
        var start = EventOrderWorld.Start; // Monday 23 November 2026, 10:00 in Berlin
        w.Clock.Reset(start + Duration.FromDays(20));
        for (int i = 0; i < 5; i++)
        {
            await w.Attribution.RecordConversionAsync(w.Order("o" + i, "f" + i, start + Duration.FromHours(i), 40m, codeOf: "r"), Ct);
        }
        await w.Attribution.RecordConversionAsync(w.Order("o5", "f5", start + Duration.FromDays(1), 60m, codeOf: "r") with { Channel = Channel.Offline, StoreId = "berlin-1" }, Ct);
        await w.Attribution.RecordConversionAsync(w.Order("o6", "f6", start + Duration.FromDays(2), 25m), Ct);
        await w.Attribution.RecordConversionAsync(w.Order("o7", "f7", Instant.FromUtc(2026, 11, 29, 20, 0), 30m, codeOf: "s"), Ct);
        await w.Attribution.RecordConversionAsync(w.Order("o8", "f8", start + Duration.FromDays(8), 50m, codeOf: "r"), Ct);
        await w.Rewards.RecordRefundAsync(new Refund { Program = EventOrderWorld.Program, OrderId = "o1", RefundId = "rf1", Amount = new Money(40m, "EUR"), EventTime = start + Duration.FromDays(3) }, Ct);
        return w;
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task The_week_by_channel_combination_counts_conversions_revenue_new_customers_and_rewards()
    {
        using var w = await WeekAsync();
        var report = await w.Reports.GetReportAsync(new ReportQuery
        {
            Program = EventOrderWorld.Program,
            From = new LocalDate(2026, 11, 23),
            To = new LocalDate(2026, 11, 29),
            Interval = ReportInterval.Day,
        }, Ct);

        Assert.Equal("Europe/Berlin", report.TimeZone);
        var t = report.Total;
        Assert.Equal(8, t.Conversions); // o0-o7; o8 is the week after
        Assert.Equal(7, t.Attributed);
        Assert.Equal(NotAttributedReason.NoTouch, Assert.Single(t.NotAttributed).Reason);
        Assert.Equal(40m * 4 + 60m + 30m, Eur(t.CreditedRevenue)); // o1 refunded in full
        Assert.Equal(6, t.NewCustomers); // o1 refunded in full is no new customer
        Assert.Equal(7 * 15m, Eur(t.Earned));
        Assert.Equal(6 * 15m, Eur(t.RewardCost)); // o1's two rewards were cancelled
        Assert.Equal(15m, Eur(t.CostPerNewCustomer));
        var pending = t.Rewards.Where(f => f.Status == RewardStatus.Pending).ToList();
        Assert.Equal(12, pending.Sum(f => f.Totals.Count));
        Assert.Equal(6, Assert.Single(pending, f => f.Kind == RewardKind.Coupon).Totals.Count);
        Assert.Equal(2, t.Rewards.Where(f => f.Status == RewardStatus.Revoked).Sum(f => f.Totals.Count));
        Assert.Equal(7, t.FraudAllowed);

        Assert.Equal(["OnlineToOffline", "OnlineToOnline", "not attributed"], report.Groups.Select(g => g.Key));
        var online = report.Groups.Single(g => g.Key == "OnlineToOnline").Figures;
        Assert.Equal((6, 5), (online.Attributed, online.NewCustomers));
        var offline = report.Groups.Single(g => g.Key == "OnlineToOffline").Figures;
        Assert.Equal(60m, Eur(offline.CreditedRevenue));
        Assert.Equal(["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-29"], report.Series.Select(s => s.Key));
        Assert.Equal(5, report.Series[0].Figures.Conversions);

        var top = report.TopReferrers;
        Assert.Equal(["r", "s"], top.Select(r => r.Referrer.Value));
        Assert.Equal(5, top[0].Referrals);
        Assert.Equal(220m, Eur(top[0].Revenue));
        Assert.Equal(50m, Eur(top[0].Rewards));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task By_store_by_week_and_over_the_whole_history()
    {
        using var w = await WeekAsync();
        var report = await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, By = ReportGrouping.Store, Interval = ReportInterval.Week }, Ct);
        Assert.Equal(9, report.Total.Conversions);
        Assert.Equal(["berlin-1", "online"], report.Groups.Select(g => g.Key));
        Assert.Equal(8, report.Groups[1].Figures.Conversions);
        Assert.Equal(["2026-W48", "2026-W49"], report.Series.Select(s => s.Key));
        Assert.Equal(1, report.Series[1].Figures.Conversions);
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task Touches_count_by_their_own_day_and_capture()
    {
        using var w = await WeekAsync();
        var at = EventOrderWorld.Start + Duration.FromDays(4);
        await w.ArriveAsync(at, new TouchEvent(4 * 24, "f6", "s", Click: true));
        await w.ArriveAsync(at, new TouchEvent(4 * 24 + 1, "f7", "s", Click: false));
        var report = await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, By = ReportGrouping.CaptureMethod, From = new LocalDate(2026, 11, 27), To = new LocalDate(2026, 11, 27) }, Ct);
        Assert.Equal(2, report.Total.Touches);
        Assert.Equal(0, report.Total.Conversions);
        Assert.Equal(["CodeEnteredOnline", "LinkClick"], report.Groups.Select(g => g.Key));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task A_bad_query_is_refused_naming_what_is_wrong()
    {
        using var w = await WeekAsync();
        var reversed = await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.GetReportAsync(
            new ReportQuery { Program = EventOrderWorld.Program, From = new LocalDate(2026, 11, 29), To = new LocalDate(2026, 11, 23) }, Ct));
        Assert.Contains("before the first", reversed.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.GetReportAsync(new ReportQuery { Program = new ProgramId("nope") }, Ct));
        Assert.Contains("nope", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, TopReferrers = -1 }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, By = (ReportGrouping)99 }, Ct));
        var noProgram = await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.GetReportAsync(new ReportQuery { Program = default }, Ct));
        Assert.Equal("program", noProgram.ParamName);
        Assert.Contains("default(ProgramId)", noProgram.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Days at the ends of NodaTime's calendar bound nothing (every event time is from year 1 to 9997): such a report is
    /// the whole history, not an <see cref="OverflowException"/> from day arithmetic.
    /// </summary>
    [Theory]
    [InlineData(ReportInterval.Day)]
    [InlineData(ReportInterval.Week)]
    [InlineData(ReportInterval.Month)]
    public async Task Days_at_the_ends_of_the_calendar_report_the_whole_history(ReportInterval interval)
    {
        using var w = await WeekAsync();
        var all = await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, Interval = interval }, Ct);

        foreach (var (from, to) in new (LocalDate?, LocalDate?)[]
        {
            (LocalDate.MinIsoValue, LocalDate.MaxIsoValue),
            (null, LocalDate.MaxIsoValue),
            (new LocalDate(1, 1, 1), new LocalDate(9999, 12, 31)),
            (new LocalDate(-5, 6, 1), new LocalDate(9997, 12, 31)),
        })
        {
            var report = await w.Reports.GetReportAsync(new ReportQuery { Program = EventOrderWorld.Program, Interval = interval, From = from, To = to }, Ct);
            Assert.Equal((all.Total.Conversions, all.Total.Touches), (report.Total.Conversions, report.Total.Touches));
            Assert.Equal(all.Series.Select(s => s.Key), report.Series.Select(s => s.Key));
        }
        Assert.True(all.Total.Conversions > 0);
    }
}
