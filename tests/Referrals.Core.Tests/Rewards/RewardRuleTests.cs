using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>Program terms as a shop would write them, and what the ledger says after.</summary>
public sealed class RewardRuleTests
{
    [Fact]
    public async Task Give_ten_get_ten_pays_both_sides_after_the_return_window()
    {
        // "Give 10 EUR, get 10 EUR: your friend gets a 10 EUR coupon on the first order, you get 10 EUR credit once the
        // 14-day return window has passed."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            HoldPeriod = TimeSpan.FromDays(14),
            Rules = [Fixed("give-10", 10m), Fixed("get-10", 10m, RewardRole.Referee, RewardKind.Coupon)],
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);

        await w.ReferAsync(code, "bea", "o-1", Monday);
        var rewards = await w.RewardsOfAsync("o-1");

        Assert.Equal(2, rewards.Count);
        var referrer = Assert.Single(rewards, r => r.Terms.Role == RewardRole.Referrer);
        var friend = Assert.Single(rewards, r => r.Terms.Role == RewardRole.Referee);
        Assert.Equal(ana, referrer.Beneficiary);
        Assert.Equal(new ParticipantId("bea"), friend.Beneficiary);
        Assert.Equal(new Money(10m, "EUR"), referrer.Earned);
        Assert.Equal(RewardKind.Coupon, friend.Terms.Kind);
        Assert.All(rewards, r => Assert.Equal(RewardStatus.Pending, r.Status));
        Assert.All(rewards, r => Assert.Equal(Monday + Duration.FromDays(14), r.Terms.HoldUntil));
        Assert.Contains("rule give-10", referrer.Explain(), StringComparison.Ordinal);

        w.Clock.Reset(Monday + Duration.FromDays(13));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));

        w.Clock.Reset(Monday + Duration.FromDays(14));
        Assert.Equal(new RewardProcessingResult(2, 2, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Equal(2, w.Fulfiller.Calls);

        var summary = await w.SummaryAsync(ana);
        Assert.Equal(1, summary.SuccessfulReferrals);
        Assert.Equal(1, summary.Fulfilled.Count);
        Assert.Equal([new Money(10m, "EUR")], summary.Fulfilled.Amounts);
        Assert.Equal([new Money(10m, "EUR")], summary.Balance);
        Assert.Equal(0, summary.Pending.Count);
        var after = await w.RewardsOfAsync("o-1");
        Assert.All(after, r => Assert.Equal(RewardStatus.Fulfilled, r.Status));
        Assert.All(after, r => Assert.NotNull(r.FulfilmentReference));
    }

    [Fact]
    public async Task A_ladder_pays_more_from_the_fifth_and_tenth_referral_and_a_gift_card_exactly_on_the_tenth()
    {
        // "1st-4th referral: 10 EUR credit, 5th-9th: 15 EUR, from the 10th: 20 EUR; a 50 EUR gift card on the 10th."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            Rules =
            [
                new RewardRuleOptions
                {
                    Name = "ladder",
                    Tiers =
                    [
                        new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                        new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" },
                        new RewardTierOptions { From = 10, Amount = 20m, Currency = "EUR" },
                    ],
                },
                new RewardRuleOptions { Name = "tenth", Kind = RewardKind.GiftCard, Milestone = 10, Amount = 50m, Currency = "EUR", Item = "gift-card-blue" },
            ],
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);

        var summary = await w.SummaryAsync(ana);
        Assert.Equal(("ladder", "referrals 1-4", "referrals 5-9", (int?)5), Progress(summary.Tier));

        for (int i = 1; i <= 11; i++)
        {
            await w.ReferAsync(code, $"friend-{i}", $"o-{i}", Monday + Duration.FromHours(i));
            if (i == 3)
            {
                Assert.Equal(("ladder", "referrals 1-4", "referrals 5-9", (int?)2), Progress((await w.SummaryAsync(ana)).Tier));
            }
        }

        decimal Paid(int i, string rule) => w.RewardsOfAsync($"o-{i}").Result.Where(r => r.Terms.Rule == rule).Sum(r => r.Earned.Amount);
        Assert.Equal([10m, 10m, 10m, 10m, 15m, 15m, 15m, 15m, 15m, 20m, 20m], Enumerable.Range(1, 11).Select(i => Paid(i, "ladder")));
        Assert.Equal([50m], Enumerable.Range(1, 11).Select(i => Paid(i, "tenth")).Where(x => x > 0));
        Assert.Equal(50m, Paid(10, "tenth"));
        var gift = (await w.RewardsOfAsync("o-10")).Single(r => r.Terms.Rule == "tenth");
        Assert.Equal("milestone: referral 10", gift.Terms.Tier);
        Assert.Equal("gift-card-blue", gift.Terms.Item);
        Assert.Equal(10, gift.Terms.ReferralNumber);

        summary = await w.SummaryAsync(ana);
        Assert.Equal(11, summary.SuccessfulReferrals);
        Assert.Equal(("ladder", "referrals 10+", (string?)null, (int?)null), Progress(summary.Tier));
        Assert.Equal([new Money((4 * 10m) + (5 * 15m) + (2 * 20m) + 50m, "EUR")], summary.Balance);
        Assert.Equal(12, summary.Pending.Count);
    }

    [Fact]
    public async Task A_percentage_is_rounded_to_the_minor_unit_of_the_order_currency()
    {
        // "You get 5 % of your friend's first order."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "five-percent", Percent = 5m }] });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);

        await w.ReferAsync(code, "eur", "o-eur", Monday, 33.33m);          // 1.6665 EUR
        await w.ReferAsync(code, "jpy", "o-jpy", Monday, 1234m, "JPY");     // 61.7 JPY
        await w.ReferAsync(code, "kwd", "o-kwd", Monday, 10.0010m, "KWD");  // 0.50005 KWD

        Assert.Equal(new Money(1.67m, "EUR"), (await w.RewardsOfAsync("o-eur")).Single().Earned);
        Assert.Equal(new Money(62m, "JPY"), (await w.RewardsOfAsync("o-jpy")).Single().Earned);
        Assert.Equal(new Money(0.500m, "KWD"), (await w.RewardsOfAsync("o-kwd")).Single().Earned);
        Assert.Equal(3, (await w.SummaryAsync(ana)).Balance.Count); // one line per currency, never mixed
    }

    [Fact]
    public async Task Points_are_whole_points()
    {
        // "Earn 1 point per euro your friend spends, and 100 points welcome bonus for the friend."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            Rules =
            [
                new RewardRuleOptions { Name = "points", Kind = RewardKind.Points, Percent = 100m },
                new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Kind = RewardKind.Points, Amount = 100m },
            ],
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 49.50m);

        var rewards = await w.RewardsOfAsync("o-1");
        Assert.Equal(new Money(50m, Money.PointsCurrency), rewards.Single(r => r.Terms.Rule == "points").Earned);
        Assert.Equal(new Money(100m, Money.PointsCurrency), rewards.Single(r => r.Terms.Rule == "welcome").Earned);
    }

    [Fact]
    public async Task The_referrers_own_referrer_earns_the_level_two_share()
    {
        // "You earn 10 EUR for every friend; whoever referred you earns 2 EUR as well."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            Rules = [Fixed("direct", 10m), new RewardRuleOptions { Name = "upline", Level = 2, Amount = 2m, Currency = "EUR" }],
        });
        var ana = await w.ParticipantAsync("ana");
        var anaCode = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(anaCode, "bea", "o-bea", Monday);
        var beaCode = await w.CodeAsync(new ParticipantId("bea"), ShareMedium.Sms);

        var attribution = await w.ReferAsync(beaCode, "cleo", "o-cleo", Monday + Duration.FromDays(1));

        Assert.Equal([new ParticipantId("bea"), ana], attribution.Chain);
        var rewards = await w.RewardsOfAsync("o-cleo");
        Assert.Equal(new Money(10m, "EUR"), rewards.Single(r => r.Beneficiary == new ParticipantId("bea")).Earned);
        var upline = rewards.Single(r => r.Beneficiary == ana);
        Assert.Equal(2, upline.Terms.Level);
        Assert.Equal(new Money(2m, "EUR"), upline.Earned);
        Assert.Single(await w.RewardsOfAsync("o-bea")); // bea had no upline above ana
    }

    [Fact]
    public async Task A_black_friday_boost_starts_and_ends_at_new_york_midnight_across_the_dst_change()
    {
        // "Double rewards from Friday 30 October to Thursday 5 November (New York time)." Daylight saving ends on
        // Sunday 1 November 2026, so the boost starts at 04:00 UTC and ends at 05:00 UTC.
        var w = new AttributionWorld(p =>
        {
            p.TimeZone = "America/New_York";
            p.Rewards = new RewardOptions
            {
                Rules = [new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "USD" }],
                Boosts = [new RewardBoostOptions { Name = "black-friday", From = "2026-10-30", Until = "2026-11-06", Multiply = 2m }],
            };
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        w.Clock.Reset(Instant.FromUtc(2026, 10, 1, 0, 0));

        await w.ReferAsync(code, "f1", "before", Instant.FromUtc(2026, 10, 30, 3, 59, 59));
        await w.ReferAsync(code, "f2", "first-minute", Instant.FromUtc(2026, 10, 30, 4, 0));
        await w.ReferAsync(code, "f3", "last-minute", Instant.FromUtc(2026, 11, 6, 4, 59, 59));
        await w.ReferAsync(code, "f4", "after", Instant.FromUtc(2026, 11, 6, 5, 0));

        async Task<Reward> Of(string order) => (await w.RewardsOfAsync(order)).Single();
        Assert.Equal(10m, (await Of("before")).Earned.Amount);
        Assert.Equal(20m, (await Of("first-minute")).Earned.Amount);
        Assert.Equal(["black-friday"], (await Of("first-minute")).Terms.Boosts);
        Assert.Equal(20m, (await Of("last-minute")).Earned.Amount);
        Assert.Equal(10m, (await Of("after")).Earned.Amount);
        Assert.Empty((await Of("after")).Terms.Boosts);
    }

    [Fact]
    public async Task A_monthly_value_cap_reduces_the_reward_that_would_cross_it_and_skips_the_next()
    {
        // "At most 25 EUR of referral credit per calendar month (Berlin time)."
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            Rules = [Fixed("credit", 10m), Fixed("friend", 5m, RewardRole.Referee, RewardKind.Coupon)],
            Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 25m, Currency = "EUR" }],
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var january = Instant.FromUtc(2027, 1, 10, 12, 0);
        w.Clock.Reset(january);

        for (int i = 1; i <= 4; i++)
        {
            await w.ReferAsync(code, $"f{i}", $"o-{i}", january + Duration.FromDays(i));
        }
        // 23:30 UTC on 31 January is 00:30 on 1 February in Berlin: a new month.
        await w.ReferAsync(code, "f5", "o-5", Instant.FromUtc(2027, 1, 31, 23, 30));

        decimal Credit(string order) => w.RewardsOfAsync(order).Result.Where(r => r.Terms.Rule == "credit").Sum(r => r.Earned.Amount);
        Assert.Equal([10m, 10m, 5m, 0m, 10m], new[] { "o-1", "o-2", "o-3", "o-4", "o-5" }.Select(Credit));
        var reduced = (await w.RewardsOfAsync("o-3")).Single(r => r.Terms.Rule == "credit");
        Assert.Equal("month cap of 25.00 EUR", reduced.Terms.CappedBy);
        Assert.Equal(new Money(10m, "EUR"), reduced.Terms.BeforeCap);
        var decision = await w.Rewards.FindDecisionAsync(Customers, "o-4", Ct);
        var skipped = Assert.Single(decision!.Skipped);
        Assert.Equal(("credit", ana, RewardSkipReason.ValueCapReached, "month cap of 25.00 EUR"), (skipped.Rule, skipped.Beneficiary, skipped.Reason, skipped.Detail));
        // The friend's coupon is not capped: caps are on what a referrer earns.
        Assert.Equal(5m, (await w.RewardsOfAsync("o-4")).Single().Earned.Amount);
        Assert.Equal(4, decision.ReferralNumber);
    }

    [Fact]
    public async Task A_daily_count_cap_skips_referrals_beyond_it_and_a_skip_policy_never_reduces()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions
        {
            Rules = [Fixed("credit", 10m)],
            Caps =
            [
                new RewardCapOptions { Period = CapPeriod.Day, MaxCount = 2 },
                new RewardCapOptions { Period = CapPeriod.Week, MaxAmount = 25m, Currency = "EUR", Policy = CapPolicy.Skip },
            ],
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);

        await w.ReferAsync(code, "f1", "mon-1", Monday);
        await w.ReferAsync(code, "f2", "mon-2", Monday + Duration.FromHours(1));
        await w.ReferAsync(code, "f3", "mon-3", Monday + Duration.FromHours(2));      // third on Monday: count cap
        await w.ReferAsync(code, "f4", "tue-1", Monday + Duration.FromDays(1));       // 30 > 25 this week: skipped, not reduced

        Assert.Equal(2, (await w.SummaryAsync(ana)).Pending.Count);
        Assert.Equal(RewardSkipReason.CountCapReached, (await w.Rewards.FindDecisionAsync(Customers, "mon-3", Ct))!.Skipped.Single().Reason);
        Assert.Equal(RewardSkipReason.ValueCapReached, (await w.Rewards.FindDecisionAsync(Customers, "tue-1", Ct))!.Skipped.Single().Reason);
        Assert.Equal(4, (await w.SummaryAsync(ana)).SuccessfulReferrals);
    }

    [Fact]
    public async Task A_repeat_purchase_of_a_referred_friend_earns_nothing()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [Fixed("credit", 10m)] });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday);

        var repeat = await w.Attribution.RecordConversionAsync(w.Order("o-2", new ParticipantId("bea"), Monday + Duration.FromDays(2)) with { IsNewCustomer = false }, Ct);

        Assert.Equal((true, true, (NotAttributedReason?)null), (repeat.IsAttributed, repeat.IsRepeat, repeat.Reason));
        Assert.Empty(await w.RewardsOfAsync("o-2"));
        Assert.Equal(1, (await w.SummaryAsync(ana)).SuccessfulReferrals);
    }

    [Fact]
    public async Task Recording_the_same_conversion_twice_creates_its_rewards_once()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [Fixed("credit", 10m)] });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var first = await w.ReferAsync(code, "bea", "o-1", Monday);

        await w.Attribution.RecordConversionAsync(w.Order("o-1", new ParticipantId("bea"), Monday) with { PresentedCode = code.Display }, Ct);
        await w.Rewards.ProcessAttributionAsync(first, Ct);

        Assert.Single(await w.RewardsOfAsync("o-1"));
        Assert.Equal([new Money(10m, "EUR")], (await w.SummaryAsync(ana)).Balance);
    }

    private static (string Rule, string CurrentTier, string? NextTier, int? ReferralsUntilNextTier) Progress(RewardTierProgress? tier)
    {
        Assert.NotNull(tier);
        return (tier.Rule, tier.CurrentTier, tier.NextTier, tier.ReferralsUntilNextTier);
    }
}
