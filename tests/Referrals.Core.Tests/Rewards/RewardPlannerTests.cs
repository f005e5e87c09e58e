using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Rewards;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>
/// The reward planner: a pure function whose output, fed from the read port, is what the reward rules decided before the
/// engine was split (the referral number and cap usage derived from the referrer's whole ledger at decision time).
/// </summary>
public sealed class RewardPlannerTests
{
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];

    public abstract record Op;

    /// <summary>A new friend buys with ana's code, <paramref name="Hour"/> hours after the start (any order), for <paramref name="Cents"/>.</summary>
    public sealed record Buy(int Hour, int Cents) : Op;

    /// <summary>A full or partial refund of the <paramref name="Order"/>th order (modulo).</summary>
    public sealed record Return(int Order, bool Full) : Op;

    /// <summary>A person rejects the referrer's reward of the <paramref name="Order"/>th order (modulo).</summary>
    public sealed record Reject(int Order) : Op;

    private static Arbitrary<Op[]> Histories() =>
        Gen.Frequency(
            (6, Gen.Choose(0, 24 * 70).Zip(Gen.Choose(1, 20_000)).Select(t => (Op)new Buy(t.Item1, t.Item2))),
            (2, Gen.Choose(0, 40).Zip(Gen.Elements(true, false)).Select(t => (Op)new Return(t.Item1, t.Item2))),
            (1, Gen.Choose(0, 40).Select(i => (Op)new Reject(i))))
        .ListOf().Select(l => l.ToArray()).ToArbitrary();

    private static RewardOptions Rules() => new()
    {
        HoldPeriod = TimeSpan.FromDays(7),
        Rules =
        [
            new RewardRuleOptions
            {
                Name = "ladder",
                Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 3, Percent = 7.5m }],
            },
            new RewardRuleOptions { Name = "bonus", Milestone = 4, Amount = 12.5m, Currency = "EUR" },
            new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 12.5m },
        ],
        Caps =
        [
            new RewardCapOptions { Period = CapPeriod.Week, MaxAmount = 30m, Currency = "EUR" },
            new RewardCapOptions { Period = CapPeriod.Day, MaxCount = 2 },
        ],
    };

    [Property(MaxTest = 40)]
    public Property Every_conversion_earns_what_the_rules_give_for_its_referral_number_and_cap_usage_by_event_time_read_from_the_whole_ledger() =>
        Prop.ForAll(Histories(), ops => RunAsync(ops).GetAwaiter().GetResult());

    [Fact]
    public void Planning_reads_nothing_changes_no_input_and_gives_the_same_plan_for_the_same_input()
    {
        var rules = RewardRuleSet.Compile(Rules(), Berlin)!;
        var ana = new ParticipantId("ana");
        var a = new AttributionResult
        {
            Program = Customers, OrderId = "o-9", Customer = new ParticipantId("bea"), Amount = new Money(80m, "EUR"),
            ConversionTime = Monday, DecidedAt = Monday, Referrer = ana, Chain = [ana],
        };
        var usage = new CapUsage[rules.Caps.Length];
        usage[0].Value = 25m; // 5.00 EUR of the week's 30.00 left
        usage[1].Count = 1;
        var input = new RewardPlanInput(3, usage);
        var refunds = new[] { new Refund { Program = Customers, OrderId = "o-9", RefundId = "rf", Amount = new Money(20m, "EUR"), EventTime = Monday } };

        var plan = RewardPlanner.Plan(rules, a, ana, input, 2, refunds, Monday);
        var again = RewardPlanner.Plan(rules, a, ana, input, 2, refunds, Monday);

        Assert.Equal((25m, 1, false), (usage[0].Value, usage[1].Count, usage[0].CountedThisOrder));
        Assert.Equal(plan.Entries.Select(e => (e.EntryId, e.Amount, e.Type)), again.Entries.Select(e => (e.EntryId, e.Amount, e.Type)));
        // Number 3: 7.5 % of 80.00 = 6.00, capped to the 5.00 left this week; then brought to 75 % by the 20.00 refunded.
        var ladder = plan.Entries.Where(e => e.RewardId == "o-9#2:ladder").ToList();
        Assert.Equal([RewardEntryType.Earned, RewardEntryType.Adjusted], ladder.Select(e => e.Type));
        Assert.Equal(5m, ladder[0].Amount.Amount);
        Assert.Equal(3, plan.Decision.ReferralNumber);
        Assert.True(plan.Decision.Counted);
        Assert.Equal(["o-9#2:ladder", "o-9#2:friend"], plan.Decision.RewardIds);
    }

    /// <summary>Runs a history and checks every new order's earned entries against the rules applied the pre-split way.</summary>
    private static async Task<bool> RunAsync(Op[] ops)
    {
        var w = new AttributionWorld(p => p.Rewards = Rules());
        var rules = RewardRuleSet.Compile(Rules(), Berlin)!;
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var orders = new List<(string OrderId, decimal Amount)>();
        int friends = 0, refunds = 0;
        foreach (var op in ops)
        {
            switch (op)
            {
                case Buy b when friends < 60:
                    string orderId = $"o-{friends}";
                    var friend = await w.ParticipantAsync($"f{friends++}");
                    var result = await w.Attribution.RecordConversionAsync(
                        w.Order(orderId, friend, Monday + Duration.FromHours(b.Hour), b.Cents / 100m) with { PresentedCode = code.Display }, Ct);
                    orders.Add((orderId, b.Cents / 100m));
                    var expected = await ExpectedAsync(w, rules, result, ana);
                    var earned = (await w.Rewards.ListOrderRewardsAsync(Customers, orderId, Ct))
                        .Select(r => (r.Beneficiary, r.Earned, r.Terms.Rule, r.Terms.Tier, r.Terms.ReferralNumber, r.Terms.CappedBy));
                    if (!expected.SequenceEqual(earned))
                    {
                        return false;
                    }
                    break;
                case Return r when orders.Count > 0:
                    var (id, amount) = orders[r.Order % orders.Count];
                    await w.Rewards.RecordRefundAsync(
                        new Refund { Program = Customers, OrderId = id, RefundId = $"rf-{refunds++}", Amount = new Money(r.Full ? amount : Math.Max(0.01m, Math.Round(amount / 3, 2)), "EUR"), EventTime = Monday },
                        Ct);
                    break;
                case Reject j when orders.Count > 0:
                    var reward = (await w.Rewards.ListOrderRewardsAsync(Customers, orders[j.Order % orders.Count].OrderId, Ct)).FirstOrDefault(x => x.Beneficiary == ana);
                    if (reward is not null)
                    {
                        await w.Rewards.RejectAsync(Customers, reward.Id, "agent", "test", Ct);
                    }
                    break;
            }
        }
        return true;
    }

    /// <summary>
    /// The rules applied by event time, from the whole ledger: the referral number counts the referrer's counted decisions
    /// on orders before this one by (event time, order id); each cap counts the referrer-role rewards of orders before it,
    /// neither rejected nor revoked and with value left, whose conversions fall in the cap's period (distinct orders for a
    /// count, net value in the cap's currency).
    /// </summary>
    private static async Task<List<(ParticipantId, Money, string, string, int, string?)>> ExpectedAsync(AttributionWorld w, RewardRuleSet rules, AttributionResult a, ParticipantId referrer)
    {
        bool Before(NodaTime.Instant time, string orderId) =>
            time < a.ConversionTime || (time == a.ConversionTime && string.CompareOrdinal(orderId, a.OrderId) < 0);
        int number = (await w.Reads.ListReferralsAsync(Customers, referrer, null, 100_000, Ct)).Count(o => Before(o.Conversion.EventTime, o.Conversion.OrderId)) + 1;
        var live = Reward.FoldAll(await w.LedgerAsync(referrer))
            .Where(r => r.Terms.Role == RewardRole.Referrer && Before(r.Terms.ConversionTime, r.OrderId) && r.Status is not (RewardStatus.Rejected or RewardStatus.Revoked) && r.Net.Amount > 0)
            .ToList();
        var usage = new CapUsage[rules.Caps.Length];
        for (int i = 0; i < usage.Length; i++)
        {
            var (start, end) = rules.PeriodOf(rules.Caps[i].Period, a.ConversionTime);
            var inPeriod = live.Where(r => r.Terms.ConversionTime >= start && r.Terms.ConversionTime < end).ToList();
            usage[i].Count = inPeriod.Select(r => r.OrderId).Distinct(StringComparer.Ordinal).Count();
            usage[i].Value = inPeriod.Where(r => r.Net.Currency == rules.Caps[i].Currency).Sum(r => r.Net.Amount);
        }
        return rules.Evaluate(a, number, usage)
            .Where(d => d.Skipped is null)
            .Select(d => (d.Beneficiary, d.Value, d.Rule.Name, d.Tier.Label, number, d.CappedBy))
            .ToList();
    }
}
