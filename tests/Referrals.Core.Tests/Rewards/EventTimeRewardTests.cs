using NodaTime;
using Referrals.Rewards;
using Referrals.Tests.Support;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>
/// Issue 18: rewards decided by event time. A referral's number is its rank by event time, cap room is used in event-time
/// order, and a late event re-decides only the later rewards whose outcome it changes, with append-only entries.
/// </summary>
public sealed class EventTimeRewardTests
{
    private static readonly RewardRuleOptions Ladder = new()
    {
        Name = "ladder",
        Tiers =
        [
            new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
            new RewardTierOptions { From = 3, Amount = 15m, Currency = "EUR" },
        ],
    };

    private static AttributionWorld World(RewardCapOptions? cap = null, params RewardRuleOptions[] rules) =>
        new(p =>
        {
            p.Rewards = new RewardOptions { HoldPeriod = TimeSpan.FromDays(14), Rules = rules, Caps = cap is null ? [] : [cap] };
            p.Fraud = new Referrals.Fraud.FraudPolicyOptions { Enabled = false };
        });

    private static async Task<Dictionary<string, decimal>> NetsAsync(AttributionWorld w, ParticipantId referrer) =>
        (await w.AllRewardsAsync(referrer)).GroupBy(r => r.OrderId).ToDictionary(g => g.Key, g => g.Sum(r => r.Net.Amount));

    [Fact]
    public async Task A_late_conversion_takes_its_place_by_event_time_and_only_the_referral_crossing_a_tier_is_adjusted()
    {
        var w = World(null, Ladder);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 1; i <= 6; i++)
        {
            await w.ReferAsync(code, $"f{i}", $"o-{i}", Monday + Duration.FromHours(i));
        }
        long before = (await w.LedgerAsync()).Count;

        // Uploaded a day late, dated before all six.
        w.Clock.Reset(Monday + Duration.FromDays(1));
        await w.ReferAsync(code, "f0", "o-0", Monday);

        Assert.Equal(1, (await w.Rewards.FindDecisionAsync(Customers, "o-0", Ct))!.ReferralNumber);
        Assert.Equal(3, (await w.Rewards.FindDecisionAsync(Customers, "o-2", Ct))!.ReferralNumber);
        var nets = await NetsAsync(w, ana);
        Assert.Equal([10m, 10m, 15m, 15m, 15m, 15m, 15m], Enumerable.Range(0, 7).Select(i => nets[$"o-{i}"]));
        // Its own reward and the old second referral's top-up: the referrals already past the tier get nothing.
        var written = (await w.LedgerAsync()).Skip((int)before).ToList();
        Assert.Equal([("o-0", RewardEntryType.Earned, 10m), ("o-2", RewardEntryType.Earned, 5m)], written.Select(e => (e.OrderId, e.Type, e.Amount.Amount)));
        var topUp = (await w.RewardsOfAsync("o-2")).Single(r => r.Earned.Amount == 5m);
        Assert.Equal(3, topUp.Terms.ReferralNumber);
        Assert.Equal("referrals 3+", topUp.Terms.Tier);
        Assert.Contains(w.Notifier.RewardChanges, e => e.RewardId == topUp.Id);
    }

    [Fact]
    public async Task A_late_conversion_after_fulfilment_claws_back_the_difference_of_a_referral_it_pushes_below_a_tier()
    {
        // A milestone at the 2nd referral: a late first referral makes the old 2nd the 3rd.
        var w = World(null, Fixed("credit", 10m), new RewardRuleOptions { Name = "bonus", Milestone = 2, Amount = 20m, Currency = "EUR" });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "f1", "o-1", Monday + Duration.FromHours(1));
        await w.ReferAsync(code, "f2", "o-2", Monday + Duration.FromHours(2));
        w.Clock.Reset(Monday + Duration.FromDays(15));
        await w.Rewards.ProcessDueAsync(Ct); // both fulfilled

        await w.ReferAsync(code, "f0", "o-0", Monday);

        var nets = await NetsAsync(w, ana);
        Assert.Equal([10m, 30m, 10m], [nets["o-0"], nets["o-1"], nets["o-2"]]);
        var bonus = (await w.RewardsOfAsync("o-2")).Single(r => r.Terms.Rule == "bonus");
        Assert.Equal(RewardEntryType.ClawedBack, bonus.Entries[^1].Type);
        Assert.Equal(-20m, bonus.Entries[^1].Amount.Amount);
        Assert.Equal([new Money(50m, "EUR")], (await w.SummaryAsync(ana)).Balance);
    }

    [Fact]
    public async Task A_rejected_referral_gives_its_number_back_to_the_referrals_after_it()
    {
        var w = World(null, Ladder);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 1; i <= 3; i++)
        {
            await w.ReferAsync(code, $"f{i}", $"o-{i}", Monday + Duration.FromHours(i));
        }
        Assert.Equal(15m, (await NetsAsync(w, ana))["o-3"]);

        var first = (await w.RewardsOfAsync("o-1")).Single();
        await w.Rewards.RejectAsync(Customers, first.Id, "agent", "duplicate account", Ct);

        Assert.False((await w.Rewards.FindDecisionAsync(Customers, "o-1", Ct))!.Counted);
        Assert.Equal(2, (await w.Rewards.FindDecisionAsync(Customers, "o-3", Ct))!.ReferralNumber);
        var nets = await NetsAsync(w, ana);
        Assert.Equal([0m, 10m, 10m], [nets["o-1"], nets["o-2"], nets["o-3"]]);
        Assert.Equal(2, (await w.SummaryAsync(ana)).SuccessfulReferrals);
    }

    [Fact]
    public async Task Cap_room_given_back_by_a_refund_reaches_a_later_reward_the_cap_had_skipped()
    {
        var w = World(new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 20m, Currency = "EUR" }, Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 1; i <= 3; i++)
        {
            await w.ReferAsync(code, $"f{i}", $"o-{i}", Monday + Duration.FromHours(i));
        }
        Assert.Equal([new Money(20m, "EUR")], (await w.SummaryAsync(ana)).Balance); // the third skipped by the cap

        await w.Rewards.RecordRefundAsync(new Refund { Program = Customers, OrderId = "o-1", RefundId = "rf-1", Amount = new Money(50m, "EUR"), EventTime = Monday + Duration.FromDays(2) }, Ct);

        var nets = await NetsAsync(w, ana);
        Assert.Equal([0m, 10m, 10m], [nets["o-1"], nets["o-2"], nets["o-3"]]);
        Assert.Equal([new Money(20m, "EUR")], (await w.SummaryAsync(ana)).Balance);
    }

    [Fact]
    public async Task A_late_conversion_in_a_full_period_takes_the_room_of_the_latest_rewards_in_it()
    {
        var w = World(new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 25m, Currency = "EUR" }, Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 1; i <= 3; i++)
        {
            await w.ReferAsync(code, $"f{i}", $"o-{i}", Monday + Duration.FromHours(i)); // 10, 10, 5 (capped)
        }

        await w.ReferAsync(code, "f0", "o-0", Monday);

        var nets = await NetsAsync(w, ana);
        Assert.Equal([10m, 10m, 5m, 0m], [nets["o-0"], nets["o-1"], nets["o-2"], nets["o-3"]]);
        Assert.Equal([new Money(25m, "EUR")], (await w.SummaryAsync(ana)).Balance);
    }

    [Theory]
    [InlineData(new[] { 1, 2, 3 })]
    [InlineData(new[] { 2, 3, 1 })]
    [InlineData(new[] { 3, 1, 2 })]
    [InlineData(new[] { 3, 2, 1 })]
    public async Task A_code_with_a_use_limit_credits_its_first_uses_by_event_time_whatever_order_they_arrive_in(int[] arrival)
    {
        var w = World(null, Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email, maxUses: 2);
        foreach (int i in arrival)
        {
            var friend = await w.ParticipantAsync($"f{i}");
            await w.Attribution.RecordConversionAsync(w.Order($"o-{i}", friend, Monday + Duration.FromHours(i)) with { PresentedCode = code.Display }, Ct);
        }

        var credited = new List<string>();
        for (int i = 1; i <= 3; i++)
        {
            if (await w.Rewards.FindDecisionAsync(Customers, $"o-{i}", Ct) is { Counted: true })
            {
                credited.Add($"o-{i}");
            }
        }
        Assert.Equal(["o-1", "o-2"], credited);
        var nets = await NetsAsync(w, ana);
        Assert.Equal(20m, nets.Values.Sum());
        Assert.Equal(0m, nets.GetValueOrDefault("o-3"));
    }

    [Fact]
    public async Task Two_codes_typed_at_the_same_instant_credit_the_same_referrer_whatever_order_they_arrive_in()
    {
        // The codes are random (new in each world); the tie is broken by the referrers' ids, which the host gave. Eight
        // worlds in each arrival order: a tie broken by anything random passes here once in 2^16.
        for (int world = 0; world < 16; world++)
        {
            var w = World(null, Fixed("credit", 10m));
            var ana = await w.ParticipantAsync("ana");
            var zoe = await w.ParticipantAsync("zoe");
            var bea = await w.ParticipantAsync("bea");
            var anaCode = await w.CodeAsync(ana, ShareMedium.Email);
            var zoeCode = await w.CodeAsync(zoe, ShareMedium.Email);
            foreach (var code in world % 2 == 0 ? new[] { zoeCode, anaCode } : [anaCode, zoeCode])
            {
                await w.EnteredAsync(code.Display, bea, Monday);
            }

            var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, Monday + Duration.FromDays(1)), Ct);

            Assert.Equal(ana, result.Referrer);
        }
    }
}
