using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>Pending, approved, fulfilled; rejected; cancelled or clawed back on refunds — always as new ledger entries.</summary>
public sealed class RewardLifecycleTests
{
    private static AttributionWorld World(params RewardRuleOptions[] rules) =>
        new(p => p.Rewards = new RewardOptions { HoldPeriod = TimeSpan.FromDays(14), Rules = rules });

    private static Refund RefundOf(string order, string id, decimal amount, Instant at, bool chargeback = false) =>
        new() { Program = Customers, OrderId = order, RefundId = id, Amount = new Money(amount, "EUR"), EventTime = at, IsChargeback = chargeback };

    [Fact]
    public async Task A_refund_inside_the_return_window_cancels_the_pending_reward_and_the_referral_stops_counting()
    {
        var w = World(Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);

        var result = await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 80m, Monday + Duration.FromDays(3)), Ct);

        Assert.Equal(RefundOutcome.Recorded, result.Outcome);
        var entry = Assert.Single(result.Entries);
        Assert.Equal(RewardEntryType.Cancelled, entry.Type);
        Assert.Equal(new Money(-10m, "EUR"), entry.Amount);
        var reward = (await w.RewardsOfAsync("o-1")).Single();
        Assert.Equal(RewardStatus.Revoked, reward.Status);
        Assert.Equal(2, reward.Entries.Count); // earned + cancelled: nothing edited
        var summary = await w.SummaryAsync(ana);
        Assert.Equal(0, summary.SuccessfulReferrals);
        Assert.Equal([new Money(0m, "EUR")], summary.Balance);
        Assert.Equal(1, summary.Revoked.Count);

        w.Clock.Reset(Monday + Duration.FromDays(20));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Empty(w.Fulfiller.Delivered);
    }

    [Fact]
    public async Task A_charge_back_after_fulfilment_claws_the_reward_back_with_a_negative_entry()
    {
        var w = World(Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);
        w.Clock.Reset(Monday + Duration.FromDays(15));
        await w.Rewards.ProcessDueAsync(Ct);

        var result = await w.Rewards.RecordRefundAsync(RefundOf("o-1", "cb-1", 0.01m, Monday + Duration.FromDays(40), chargeback: true), Ct);

        var clawback = Assert.Single(result.Entries);
        Assert.Equal(RewardEntryType.ClawedBack, clawback.Type);
        Assert.Equal(new Money(-10m, "EUR"), clawback.Amount);
        Assert.Equal(new Money(80m, "EUR"), result.RefundedTotal);
        var reward = (await w.RewardsOfAsync("o-1")).Single();
        Assert.Equal(RewardStatus.Revoked, reward.Status);
        Assert.NotNull(reward.FulfilledAt);
        Assert.Equal([new Money(0m, "EUR")], (await w.SummaryAsync(ana)).Balance);
        Assert.Contains(w.Notifier.RewardChanges, e => e.Type == RewardEntryType.ClawedBack);
    }

    [Fact]
    public async Task A_partial_refund_reduces_percentage_rewards_in_proportion_and_leaves_fixed_ones()
    {
        var w = World(new RewardRuleOptions { Name = "share", Percent = 10m }, Fixed("friend", 5m, RewardRole.Referee, RewardKind.Coupon));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 99.99m); // 10 % = 10.00 EUR

        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 33.33m, Monday + Duration.FromDays(1)), Ct);
        var share = (await w.RewardsOfAsync("o-1")).Single(r => r.Terms.Rule == "share");
        Assert.Equal(new Money(6.67m, "EUR"), share.Net); // 10.00 * 66.66 / 99.99 = 6.6666.. -> 6.67
        Assert.Equal(RewardStatus.Pending, share.Status);
        Assert.Equal(RewardEntryType.Adjusted, share.Entries[^1].Type);
        Assert.Equal(new Money(5m, "EUR"), (await w.RewardsOfAsync("o-1")).Single(r => r.Terms.Rule == "friend").Net);
        Assert.Equal(1, (await w.SummaryAsync(ana)).SuccessfulReferrals);

        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-2", 33.33m, Monday + Duration.FromDays(2)), Ct);
        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-3", 33.33m, Monday + Duration.FromDays(3)), Ct);

        var rewards = await w.RewardsOfAsync("o-1");
        Assert.All(rewards, r => Assert.Equal(0m, r.Net.Amount)); // refunded in full: nothing left, nothing overdrawn
        Assert.Equal(10m, -rewards.Single(r => r.Terms.Rule == "share").Entries.Skip(1).Sum(e => e.Amount.Amount));
    }

    [Fact]
    public async Task Refunds_are_idempotent_by_refund_id_and_bad_ones_are_refused_by_name()
    {
        var w = World(Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);
        var refund = RefundOf("o-1", "rf-1", 80m, Monday + Duration.FromDays(1));

        Assert.Equal(RefundOutcome.Recorded, (await w.Rewards.RecordRefundAsync(refund, Ct)).Outcome);
        var again = await w.Rewards.RecordRefundAsync(refund, Ct);
        Assert.Equal(RefundOutcome.Duplicate, again.Outcome);
        Assert.Empty(again.Entries);
        Assert.Equal(2, (await w.RewardsOfAsync("o-1")).Single().Entries.Count);

        Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await w.Rewards.RecordRefundAsync(refund with { OrderId = "o-404", RefundId = "rf-2" }, Ct)).Outcome);
        Assert.Equal(RefundOutcome.CurrencyMismatch, (await w.Rewards.RecordRefundAsync(refund with { RefundId = "rf-3", Amount = new Money(5m, "USD") }, Ct)).Outcome);
        var bad = await Assert.ThrowsAsync<ArgumentException>(async () => await w.Rewards.RecordRefundAsync(refund with { RefundId = "rf-4", Amount = new Money(0m, "EUR") }, Ct));
        Assert.Contains("more than zero", bad.Message, StringComparison.Ordinal);
        var noOrder = await Assert.ThrowsAsync<ArgumentException>(async () => await w.Rewards.RecordRefundAsync(refund with { RefundId = "rf-5", OrderId = " " }, Ct));
        Assert.Contains("An order id is 1 to 128 characters; got ' '", noOrder.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_person_can_approve_early_or_reject_and_a_rejected_reward_is_never_fulfilled()
    {
        var w = World(Fixed("credit", 10m), Fixed("friend", 5m, RewardRole.Referee, RewardKind.Coupon));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday);
        var rewards = await w.RewardsOfAsync("o-1");
        var credit = rewards.Single(r => r.Terms.Rule == "credit");
        var coupon = rewards.Single(r => r.Terms.Rule == "friend");

        var approved = await w.Rewards.ApproveAsync(Customers, coupon.Id, "support:kim", "VIP customer, no return risk", Ct);
        var rejected = await w.Rewards.RejectAsync(Customers, credit.Id, "fraud:lee", "same household as the friend", Ct);

        Assert.Equal(RewardStatus.Approved, approved!.Status);
        Assert.Equal(RewardStatus.Rejected, rejected!.Status);
        Assert.Equal("fraud:lee", rejected.Entries[^1].Actor);
        Assert.Equal(new Money(-10m, "EUR"), rejected.Entries[^1].Amount);
        Assert.Null(await w.Rewards.RejectAsync(Customers, credit.Id, "fraud:lee", "again", Ct));
        Assert.Null(await w.Rewards.ApproveAsync(Customers, "no-such-reward", "support:kim", "typo", Ct));

        Assert.Equal(new RewardProcessingResult(0, 1, 0), await w.Rewards.ProcessDueAsync(Ct)); // the coupon, before the hold ends
        Assert.Equal([coupon.Id], w.Fulfiller.Delivered.Select(r => r.Id));
        w.Clock.Reset(Monday + Duration.FromDays(30));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Equal(1, (await w.SummaryAsync(ana)).Rejected.Count);
    }

    [Fact]
    public async Task A_failing_fulfiller_leaves_the_reward_approved_and_the_next_pass_delivers_it_once()
    {
        var w = World(Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday);
        w.Clock.Reset(Monday + Duration.FromDays(14));
        w.Fulfiller.Failing = true;

        Assert.Equal(new RewardProcessingResult(1, 0, 1), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Equal(RewardStatus.Approved, (await w.RewardsOfAsync("o-1")).Single().Status);

        w.Fulfiller.Failing = false;
        Assert.Equal(new RewardProcessingResult(0, 1, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Single(w.Fulfiller.Delivered);
        Assert.Equal(RewardStatus.Fulfilled, (await w.RewardsOfAsync("o-1")).Single().Status);
    }

    [Fact]
    public async Task When_a_late_touch_moves_the_credit_the_first_referrers_reward_is_cancelled_and_the_second_is_paid()
    {
        var w = World(Fixed("credit", 10m));
        var ana = await w.ParticipantAsync("ana");
        var ben = await w.ParticipantAsync("ben");
        var anaCode = await w.CodeAsync(ana, ShareMedium.Email);
        var benCode = await w.CodeAsync(ben, ShareMedium.Card);
        var cleo = await w.ParticipantAsync("cleo");
        await w.EnteredAsync(anaCode.Display, cleo, Monday);
        var first = await w.Attribution.RecordConversionAsync(w.Order("o-1", cleo, Monday + Duration.FromDays(2)), Ct);
        Assert.Equal(ana, first.Referrer);

        // A POS batch arrives late: cleo showed ben's card at the till a day after ana's e-mail (last touch wins).
        await w.EnteredAsync(benCode.Display, cleo, Monday + Duration.FromDays(1));
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);

        Assert.Equal(ben, again!.Referrer);
        var rewards = await w.RewardsOfAsync("o-1");
        Assert.Equal(2, rewards.Count);
        Assert.Equal(RewardStatus.Revoked, rewards.Single(r => r.Beneficiary == ana).Status);
        Assert.Equal(RewardStatus.Pending, rewards.Single(r => r.Beneficiary == ben).Status);
        Assert.Equal(0, (await w.SummaryAsync(ana)).SuccessfulReferrals);
        Assert.Equal(1, (await w.SummaryAsync(ben)).SuccessfulReferrals);
        Assert.Equal(2, (await w.Rewards.FindDecisionAsync(Customers, "o-1", Ct))!.Revision);
    }

    [Fact]
    public async Task When_a_late_touch_moves_the_credit_of_a_partly_refunded_order_the_new_reward_is_reduced_by_the_refund_at_once()
    {
        var w = World(new RewardRuleOptions { Name = "share", Percent = 10m });
        var ana = await w.ParticipantAsync("ana");
        var ben = await w.ParticipantAsync("ben");
        var anaCode = await w.CodeAsync(ana, ShareMedium.Email);
        var benCode = await w.CodeAsync(ben, ShareMedium.Card);
        var cleo = await w.ParticipantAsync("cleo");
        await w.EnteredAsync(anaCode.Display, cleo, Monday);
        await w.Attribution.RecordConversionAsync(w.Order("o-1", cleo, Monday + Duration.FromDays(2), 80m), Ct);
        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 20m, Monday + Duration.FromDays(3)), Ct); // ana's 8.00 -> 6.00

        await w.EnteredAsync(benCode.Display, cleo, Monday + Duration.FromDays(1));
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);

        Assert.Equal(ben, again!.Referrer);
        var rewards = await w.RewardsOfAsync("o-1");
        var anas = rewards.Single(r => r.Beneficiary == ana);
        Assert.Equal((RewardStatus.Revoked, 0m), (anas.Status, anas.Net.Amount));
        var bens = rewards.Single(r => r.Beneficiary == ben);
        // 10 % of 80.00 earned, brought to 10 % of the 60.00 not refunded by the refund recorded before the decision.
        Assert.Equal((8m, 6m), (bens.Earned.Amount, bens.Net.Amount));
        Assert.Equal(["earned", "refunds-before"], bens.Entries.Select(e => e.EntryId[(e.EntryId.LastIndexOf(':') + 1)..]));
        Assert.Equal(1, (await w.SummaryAsync(ben)).SuccessfulReferrals);
    }
}

public sealed class RewardConcurrencyTests
{
    [Fact]
    public async Task Conversions_of_one_referrer_recorded_at_once_never_cross_a_cap_and_number_referrals_once_each()
    {
        // 64 referrals within an hour would be held for review by the velocity check; this test is about caps and numbering.
        var w = new AttributionWorld(p =>
        {
            p.Rewards = new RewardOptions
            {
                Rules = [Fixed("credit", 10m)],
                Caps = [new RewardCapOptions { Period = CapPeriod.Lifetime, MaxAmount = 55m, Currency = "EUR" }],
            };
            p.Fraud = new Referrals.Fraud.FraudPolicyOptions { Enabled = false };
        });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 0; i < 64; i++)
        {
            await w.ParticipantAsync($"f{i}");
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(
            async () =>
            {
                for (int i = t * 8; i < (t + 1) * 8; i++)
                {
                    var order = w.Order($"o-{i}", new ParticipantId($"f{i}"), Monday + Duration.FromMinutes(i)) with { PresentedCode = code.Display };
                    await w.Attribution.RecordConversionAsync(order, Ct);
                }
            },
            Ct)));

        var summary = await w.SummaryAsync(ana);
        Assert.Equal(64, summary.SuccessfulReferrals);
        Assert.Equal([new Money(55m, "EUR")], summary.Balance);                  // 5 x 10 + 5 (reduced), then skipped
        // By event time, whatever order the eight writers' conversions were written in: the first five earn 10 EUR, the
        // sixth the 5 EUR left (a late one re-decides the later rewards, with adjustments or top-ups of their own).
        var nets = (await w.AllRewardsAsync(ana)).Where(r => r.Net.Amount > 0).GroupBy(r => r.OrderId).ToDictionary(g => g.Key, g => g.Sum(r => r.Net.Amount));
        Assert.Equal(
            [("o-0", 10m), ("o-1", 10m), ("o-2", 10m), ("o-3", 10m), ("o-4", 10m), ("o-5", 5m)],
            nets.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => (n.Key, n.Value)));
        var numbers = new List<int>();
        for (int i = 0; i < 64; i++)
        {
            numbers.Add((await w.Rewards.FindDecisionAsync(Customers, $"o-{i}", Ct))!.ReferralNumber);
        }
        Assert.Equal(Enumerable.Range(1, 64), numbers.Order());                  // each number once: no lost or doubled referral
    }
}
