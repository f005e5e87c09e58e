using NodaTime;
using Referrals.Attribution;

namespace Referrals.Rewards;

/// <summary>
/// What the reward planner needs to know of the past, read from the referrers' account summaries: the referral number
/// this conversion is for its referrer, and the cap usage of every level's referrer in the conversion's periods.
/// </summary>
/// <param name="ReferralNumber">1 for the referrer's first counted referral, and so on (this order not counted).</param>
/// <param name="Usage">Cap usage, level by level, cap by cap (levels × caps), without this order.</param>
internal readonly record struct RewardPlanInput(int ReferralNumber, CapUsage[] Usage);

/// <summary>The rewards planned for one decided conversion: the entries to append and the decision to record.</summary>
internal sealed class RewardPlan(IReadOnlyList<RewardEntry> entries, RewardDecision decision, IReadOnlyList<(ParticipantId Beneficiary, int CapIndex)> capped)
{
    /// <summary>The beneficiaries whose reward a cap reduced or skipped, with the cap (index in <see cref="RewardRuleSet.Caps"/>).</summary>
    public IReadOnlyList<(ParticipantId Beneficiary, int CapIndex)> Capped { get; } = capped;

    /// <summary>The earned entries, then the reversals of refunds recorded before the decision, in order.</summary>
    public IReadOnlyList<RewardEntry> Entries { get; } = entries;

    /// <summary>The order's reward decision.</summary>
    public RewardDecision Decision { get; } = decision;
}

/// <summary>
/// Stage 3 (plan rewards) of the conversion pipeline: the program's reward rules applied to one credited conversion, as
/// a pure function of the attribution, the referrer's referral number, the cap usage per period, the rules, the refunds
/// recorded before, the decision's revision and the instant. Reads nothing, writes nothing; thread-safe.
/// </summary>
internal static class RewardPlanner
{
    /// <summary>How many levels of the chain the rules pay for this attribution (the length of each cap-usage row set).</summary>
    public static int Levels(RewardRuleSet rules, AttributionResult a) => Math.Min(rules.MaxLevel, Math.Max(a.Chain.Count, 1));

    /// <summary>Plans the rewards of <paramref name="a"/> credited to <paramref name="referrer"/>.</summary>
    /// <param name="rules">The program's compiled reward rules.</param>
    /// <param name="a">The decided attribution (with its fraud verdict).</param>
    /// <param name="referrer">The level-1 referrer credited.</param>
    /// <param name="input">Referral number and cap usage (<see cref="RewardPlanInput"/>); the usage array is not changed.</param>
    /// <param name="revision">The decision's revision (1, or one more than the decision it replaces).</param>
    /// <param name="refunds">Refunds of the order recorded before this decision (a re-attribution after a refund).</param>
    /// <param name="now">The instant of the decision.</param>
    public static RewardPlan Plan(
        RewardRuleSet rules,
        AttributionResult a,
        ParticipantId referrer,
        RewardPlanInput input,
        int revision,
        IReadOnlyList<Refund> refunds,
        Instant now)
    {
        int number = input.ReferralNumber;
        // The rules count this order into the usage: a copy keeps the input as read.
        var usage = input.Usage.Length == 0 ? input.Usage : (CapUsage[])input.Usage.Clone();
        var drafts = rules.Evaluate(a, number, usage);
        var ids = new List<string>();
        var skipped = new List<SkippedReward>();
        var entries = new List<RewardEntry>(drafts.Length);
        List<(ParticipantId, int)>? capped = null;
        foreach (var d in drafts)
        {
            if (d.CapLabel is { } cap)
            {
                (capped ??= []).Add((d.Beneficiary, rules.CapIndexOf(cap)));
            }
            if (d.Skipped is { } reason)
            {
                skipped.Add(new SkippedReward(d.Rule.Name, d.Beneficiary, reason, d.SkipDetail ?? ""));
                continue;
            }
            string rewardId = $"{a.OrderId}#{revision}:{d.Rule.Name}";
            ids.Add(rewardId);
            entries.Add(new RewardEntry
            {
                EntryId = rewardId + ":earned",
                RewardId = rewardId,
                Program = a.Program,
                Beneficiary = d.Beneficiary,
                OrderId = a.OrderId,
                Type = RewardEntryType.Earned,
                Amount = d.Value,
                RecordedAt = now,
                Terms = new RewardTerms
                {
                    Role = d.Rule.Role,
                    Level = d.Rule.Level,
                    Kind = d.Rule.Kind,
                    Item = d.Rule.Item,
                    Rule = d.Rule.Name,
                    Tier = d.Tier.Label,
                    ReferralNumber = number,
                    PercentOfOrder = d.PercentOfOrder,
                    OrderAmount = a.Amount,
                    Boosts = d.Boosts,
                    CappedBy = d.CappedBy,
                    BeforeCap = d.BeforeCap,
                    ConversionTime = a.ConversionTime,
                    HoldUntil = a.ConversionTime + rules.Hold,
                    HeldForReview = a.Fraud?.Verdict == Fraud.FraudVerdict.Review,
                },
            });
        }

        // Refunds recorded before this decision (a re-attribution after a refund) apply to the new rewards at once.
        bool counted = true;
        if (refunds.Count > 0)
        {
            var total = Refund.Total(a.Amount, refunds);
            entries.AddRange(RefundReversals(Reward.FoldAll(entries), a.Amount, total, ":refunds-before", "refunded before the decision", now));
            counted = total.Amount < a.Amount.Amount;
        }
        var decision = new RewardDecision
        {
            Program = a.Program,
            OrderId = a.OrderId,
            Revision = revision,
            Referrer = referrer,
            Chain = a.Chain,
            ReferralNumber = number,
            Counted = counted,
            RewardIds = ids,
            Skipped = skipped,
            DecidedAt = now,
        };
        return new RewardPlan(entries, decision, capped ?? (IReadOnlyList<(ParticipantId, int)>)[]);
    }

    /// <summary>
    /// For every reward with value left: the target is zero after a full refund, the entitled amount (what it earned, as a
    /// late event's re-decisions moved it) times the share of
    /// the order not refunded (rounded to the minor unit) for percentage rewards, unchanged for fixed ones. Computing
    /// from the cumulative refund, never step by step, is what keeps rounding from creating or losing a minor unit.
    /// </summary>
    /// <returns>The reversal entries that bring the rewards to their targets.</returns>
    public static List<RewardEntry> RefundReversals(IReadOnlyList<Reward> rewards, Money order, Money refunded, string suffix, string reason, Instant now)
    {
        var reversals = new List<RewardEntry>();
        bool full = refunded.Amount >= order.Amount;
        foreach (var r in rewards)
        {
            if (r.Net.Amount <= 0 || r.Status == RewardStatus.Rejected)
            {
                continue;
            }
            Money target = full ? Money.Zero(r.Net.Currency)
                : r.Terms.PercentOfOrder ? new Money(r.Entitled.Amount * (order.Amount - refunded.Amount) / order.Amount, r.Entitled.Currency).RoundToMinorUnit()
                : r.Net;
            var delta = target - r.Net;
            if (delta.Amount < 0)
            {
                reversals.Add(Reversal(r, delta, full ? RewardEntryType.Cancelled : RewardEntryType.Adjusted, reason, suffix, now));
            }
        }
        return reversals;
    }

    /// <summary>An entry reversing <paramref name="amount"/> of a reward: a claw-back once fulfilled.</summary>
    public static RewardEntry Reversal(Reward reward, Money amount, RewardEntryType beforeFulfilment, string reason, string suffix, Instant now) => new()
    {
        EntryId = reward.Id + suffix,
        RewardId = reward.Id,
        Program = reward.Program,
        Beneficiary = reward.Beneficiary,
        OrderId = reward.OrderId,
        Type = reward.FulfilledAt is null ? beforeFulfilment : RewardEntryType.ClawedBack,
        Amount = amount,
        RecordedAt = now,
        Reason = reason,
    };
}
