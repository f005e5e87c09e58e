using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Programs;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Tests.Rewards;

namespace Referrals.Tests.Reporting;

/// <summary>
/// Issue 23, the what-if replay: the stored history under other reward rules. Replaying the program's own rules must
/// reproduce the ledger's net amounts exactly, whatever order the events arrived in (a property over the generated
/// histories of issue 18); each kind of rule change gives its expected difference.
/// </summary>
public sealed class RewardReplayTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Twelve friends each buy 50 EUR with r's code, twelve hours apart from Monday 23 November 2026 (Berlin): two on Black Friday.</summary>
    private static async Task<EventOrderWorld> TwelveReferralsAsync(RewardOptions live)
    {
        string[] friends = [.. Enumerable.Range(0, 12).Select(i => "f" + i.ToString("00", CultureInfo.InvariantCulture))];
        var w = await EventOrderWorld.CreateAsync(p => p.Rewards = live, ["r"], friends);
        w.Clock.Reset(EventOrderWorld.Start + Duration.FromDays(10));
        for (int i = 0; i < friends.Length; i++)
        {
            await w.Attribution.RecordConversionAsync(w.Order("o" + i.ToString("00", CultureInfo.InvariantCulture), friends[i], EventOrderWorld.Start + Duration.FromHours(12 * i), 50m, codeOf: "r"), Ct);
        }
        return w;
    }

    private static RewardOptions TenEuros() => new() { Rules = [Fixed("per-referral", 10m)] };

    private static RewardRuleOptions Fixed(string name, decimal amount) => new() { Name = name, Amount = amount, Currency = "EUR" };

    private static decimal Eur(IReadOnlyList<Money> amounts) => amounts.Where(m => m.Currency == "EUR").Sum(m => m.Amount);

    private static ReplayLine Line(ReplayResult result, ReplayDimension dimension, string name) =>
        result.Lines.SingleOrDefault(l => l.Dimension == dimension && l.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"No {dimension} line '{name}'; lines: {string.Join(", ", result.Lines.Select(l => $"{l.Dimension} {l.Name}"))}");

    [Fact]
    [Trait("Issue", "23")]
    public async Task The_current_rules_replayed_pay_what_was_paid_and_no_one_gains_or_loses()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = TenEuros() }, Ct);
        Assert.Equal(12, result.Orders);
        Assert.Equal(12, result.AcquiredCustomers);
        Assert.Equal(120m, Eur(result.Paid.Amounts));
        Assert.Equal(120m, Eur(result.WouldPay.Amounts));
        Assert.Equal(10m, Eur(result.PaidPerCustomer));
        Assert.Empty(result.Participants);
        Assert.Equal(1, result.Unchanged);
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task Fifteen_euros_from_the_fifth_referral_pays_forty_more_over_twelve_referrals()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var candidate = new RewardOptions
        {
            Rules =
            [
                new RewardRuleOptions
                {
                    Name = "per-referral",
                    Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" }],
                },
            ],
        };
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate }, Ct);
        Assert.Equal(120m, Eur(result.Paid.Amounts));
        Assert.Equal(160m, Eur(result.WouldPay.Amounts)); // 4 x 10 + 8 x 15
        Assert.Equal(40m, Eur(Line(result, ReplayDimension.Tier, "per-referral: referrals 1-4").WouldPay.Amounts));
        Assert.Equal(120m, Eur(Line(result, ReplayDimension.Tier, "per-referral: referrals 5+").WouldPay.Amounts));
        Assert.Equal(8, Line(result, ReplayDimension.Tier, "per-referral: referrals 5+").WouldPay.Count);
        Assert.Equal(120m, Eur(Line(result, ReplayDimension.Tier, "per-referral: every referral").Paid.Amounts));
        var r = Assert.Single(result.Participants);
        Assert.Equal("r", r.Participant.Value);
        Assert.Equal(40m, Eur(r.Difference));
        Assert.Equal((1, 0), (result.Gainers, result.Losers));
        Assert.Equal(13.33m, Eur(result.WouldPayPerCustomer));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task Double_rewards_on_Black_Friday_pay_the_two_orders_of_that_day_twice()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var candidate = TenEuros();
        candidate.Boosts = [new RewardBoostOptions { Name = "black-friday", From = "2026-11-27", Until = "2026-11-28", Multiply = 2m }];
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate }, Ct);
        Assert.Equal(140m, Eur(result.WouldPay.Amounts));
        var boost = Line(result, ReplayDimension.Boost, "black-friday");
        Assert.Equal(2, boost.WouldPay.Count);
        Assert.Equal(40m, Eur(boost.WouldPay.Amounts));
        Assert.Equal(0, boost.Paid.Count);
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task A_monthly_cap_of_100_euros_holds_back_the_eleventh_and_twelfth_rewards()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var candidate = TenEuros();
        candidate.Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 100m, Currency = "EUR" }];
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate }, Ct);
        Assert.Equal(100m, Eur(result.WouldPay.Amounts));
        var cap = Assert.Single(result.Lines, l => l.Dimension == ReplayDimension.Cap);
        Assert.Equal(2, cap.WouldPay.Count);
        Assert.Equal(20m, Eur(cap.WouldPay.Amounts));
        Assert.Equal((0, 1), (result.Gainers, result.Losers));
        Assert.Equal(-20m, Eur(result.Participants[0].Difference));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task A_welcome_reward_for_the_friend_costs_five_euros_a_customer_more_and_changes_no_referrer()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var candidate = TenEuros();
        candidate.Rules.Add(new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 10m });
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate }, Ct);
        Assert.Equal(180m, Eur(result.WouldPay.Amounts));
        Assert.Equal(0, result.Gainers); // referees' rewards are in the totals and lines, not per participant
        Assert.Equal(1, result.Unchanged); // r
        Assert.Equal(15m, Eur(result.WouldPayPerCustomer));
        Assert.Equal(60m, Eur(Line(result, ReplayDimension.Rule, "welcome").WouldPay.Amounts));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task A_refund_in_full_takes_the_order_out_of_the_ladder_in_the_replay_as_it_does_live()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        await w.Rewards.RecordRefundAsync(new Refund { Program = EventOrderWorld.Program, OrderId = "o00", RefundId = "rf", Amount = new Money(50m, "EUR"), EventTime = EventOrderWorld.Start + Duration.FromDays(2) }, Ct);
        var candidate = new RewardOptions
        {
            Rules = [new RewardRuleOptions { Name = "per-referral", Milestone = 11, Amount = 100m, Currency = "EUR" }],
        };
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate }, Ct);
        Assert.Equal(11, result.AcquiredCustomers);
        Assert.Equal(110m, Eur(result.Paid.Amounts));
        // Without o00, o11 is the 11th referral.
        Assert.Equal(100m, Eur(result.WouldPay.Amounts));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task The_days_compared_leave_the_orders_before_them_out_but_count_them_for_the_ladder()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var candidate = new RewardOptions { Rules = [new RewardRuleOptions { Name = "per-referral", Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" }] }] };
        // 27 November (Berlin) onwards: orders o08 to o11, referrals 9 to 12.
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = candidate, From = new LocalDate(2026, 11, 27) }, Ct);
        Assert.Equal(4, result.Orders);
        Assert.Equal(40m, Eur(result.Paid.Amounts));
        Assert.Equal(60m, Eur(result.WouldPay.Amounts));
    }

    [Fact]
    [Trait("Issue", "23")]
    public async Task Candidate_rules_are_read_strictly_from_configuration_and_every_bad_setting_is_named()
    {
        using var w = await TwelveReferralsAsync(TenEuros());
        var good = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rules:0:Name"] = "per-referral",
            ["Rules:0:Amount"] = "12.5",
            ["Rules:0:Currency"] = "EUR",
            ["Caps:0:Period"] = "Month",
            ["Caps:0:MaxAmount"] = "100",
            ["Caps:0:Currency"] = "EUR",
        }).Build();
        var rules = w.Reports.ReadRules(good, EventOrderWorld.Program);
        Assert.Equal(12.5m, rules.Rules[0].Amount);
        var result = await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = rules }, Ct);
        Assert.Equal(100m, Eur(result.WouldPay.Amounts)); // 8 x 12.50, then the cap

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rules:0:Name"] = "per-referral",
            ["Rules:0:Amont"] = "12.5",
            ["Rules:0:Currency"] = "EUR",
            ["Caps:0:Period"] = "Fortnight",
        }).Build();
        var ex = Assert.Throws<OptionsValidationException>(() => w.Reports.ReadRules(bad, EventOrderWorld.Program));
        // Every message names its setting by one path, from "Rewards" (a file of its own), binding and validation alike.
        Assert.Contains(ex.Failures, f => f.StartsWith("Rewards:Rules:0:Amont", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Rewards:Caps:0:Period", StringComparison.Ordinal) && f.Contains("Fortnight", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Rewards:Rules:0", StringComparison.Ordinal) && f.Contains("Amount", StringComparison.Ordinal) && !f.Contains("Amont", StringComparison.Ordinal));
        await Assert.ThrowsAsync<ArgumentException>(async () => await w.Reports.ReplayAsync(new ReplayQuery { Program = new ProgramId("nope"), Rules = TenEuros() }, Ct));
        await Assert.ThrowsAsync<OptionsValidationException>(async () =>
            await w.Reports.ReplayAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = new RewardOptions { Rules = [Fixed("x", -1m)] } }, Ct));
    }

    /// <summary>
    /// The property of the issue: any history of issue 18 (touches, orders, repeats, refunds also before their order,
    /// reviews, lifecycle passes, chains, pausing codes), arrived late, out of order and twice; the program's own rules
    /// replayed give every (order, beneficiary, rule) exactly the net the live ledger holds.
    /// </summary>
    [Property(MaxTest = 200)]
    [Trait("Issue", "23")]
    public Property Replaying_the_programs_own_rules_reproduces_the_ledgers_net_amounts() =>
        Prop.ForAll(EventOrderHistories.Histories(HistoryShape.Full), (History h) => AssertReplayReproduces(h));

    private static void AssertReplayReproduces(History h)
    {
        using var w = EventOrderWorld.CreateAsync(EventOrderWorld.PropertyProgram, EventOrderHistories.Referrers, EventOrderHistories.Friends).GetAwaiter().GetResult();
        foreach (var b in h.Events.Select(s => s.Event).OfType<BuyEvent>())
        {
            w.OrderAmounts[b.OrderId] = b.Cents / 100m;
        }
        foreach (var (at, e) in EventOrderHistories.Arrivals(h, h.Replays > 0 ? 0 : -1))
        {
            w.ArriveAsync(at, e).GetAwaiter().GetResult();
        }
        var program = new ProgramOptions();
        EventOrderWorld.PropertyProgram(program);
        var live = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
        var replayed = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
        var result = w.Reports.ReplayObservedAsync(new ReplayQuery { Program = EventOrderWorld.Program, Rules = program.Rewards! }, (order, rewards) =>
        {
            string id = order.Row.Conversion.OrderId;
            foreach (var s in order.Rewards)
            {
                Add(live, $"{id} {s.Beneficiary} {s.Terms.Rule} {s.Net.Currency}", s.Net.Amount);
            }
            foreach (var r in rewards)
            {
                Add(replayed, $"{id} {r.Beneficiary} {r.Rule} {r.Amount.Currency}", r.Amount.Amount);
            }
        }, Ct).GetAwaiter().GetResult();

        foreach (var key in live.Keys.Union(replayed.Keys).Order(StringComparer.Ordinal))
        {
            decimal l = live.GetValueOrDefault(key), r = replayed.GetValueOrDefault(key);
            if (l != r)
            {
                var sb = new StringBuilder();
                sb.Append(CultureInfo.InvariantCulture, $"Net of (order beneficiary rule currency) {key}: {l} in the ledger, {r} replayed.");
                sb.AppendLine().Append("Ledger:   ").Append(string.Join(", ", live.Select(kv => $"{kv.Key} {kv.Value}")));
                sb.AppendLine().Append("Replayed: ").Append(string.Join(", ", replayed.Select(kv => $"{kv.Key} {kv.Value}")));
                sb.AppendLine().Append(h);
                Assert.Fail(sb.ToString());
            }
        }
        Assert.Equal(result.Paid.Amounts.Where(m => m.Amount != 0), result.WouldPay.Amounts.Where(m => m.Amount != 0));
        Assert.Equal(0, result.Gainers + result.Losers + result.Mixed);

        static void Add(SortedDictionary<string, decimal> map, string key, decimal amount)
        {
            decimal sum = map.GetValueOrDefault(key) + amount;
            if (sum == 0)
            {
                map.Remove(key);
            }
            else
            {
                map[key] = sum;
            }
        }
    }
}
