using NodaTime;

namespace Referrals.Rewards;

/// <summary>Why a rule produced no reward for a referral it applied to.</summary>
public enum RewardSkipReason
{
    /// <summary>The referrer had reached a cap on the number of rewarded referrals in the period.</summary>
    CountCapReached = 1,

    /// <summary>Nothing was left under a value cap in the period, or the cap's policy skips rewards that would cross it.</summary>
    ValueCapReached = 2,

    /// <summary>The amount came to zero (a percentage of a zero order, rounded).</summary>
    ZeroAmount = 3,
}

/// <summary>A rule that applied to a referral but paid nothing, and why.</summary>
public sealed class SkippedReward
{
    internal SkippedReward(string rule, ParticipantId beneficiary, RewardSkipReason reason, string detail)
    {
        Rule = rule;
        Beneficiary = beneficiary;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>The rule.</summary>
    public string Rule { get; }

    /// <summary>Who it would have paid.</summary>
    public ParticipantId Beneficiary { get; }

    /// <summary>Why it did not.</summary>
    public RewardSkipReason Reason { get; }

    /// <summary>The cap or amount, in words.</summary>
    public string Detail { get; }
}

/// <summary>
/// The reward decision of one conversion: which referral number it was for the referrer, which rewards it produced and
/// which rules paid nothing. Unique by program and order id; a re-attribution writes a new revision.
/// </summary>
public sealed class RewardDecision
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal RewardDecision()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The order.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>1 for the first decision, increased by every later one (re-attribution, full refund).</summary>
    public int Revision { get; internal init; }

    /// <summary>The level-1 referrer credited, or <see langword="null"/> once the order is no longer referred.</summary>
    public ParticipantId? Referrer { get; internal init; }

    /// <summary>The referral chain the rewards were computed for (index 0 is the referrer).</summary>
    public IReadOnlyList<ParticipantId> Chain { get; internal init; } = [];

    /// <summary>
    /// Which referral of the referrer this is (1 is the first): its rank among the referrer's counted referrals by event
    /// time, then order id — as read now (the reward service's decision look-up counts it), so a late
    /// referral before it moves it on. The number it had when last decided while no longer counted; 0 when not referred.
    /// </summary>
    public int ReferralNumber { get; internal init; }

    /// <summary>True while it counts as a successful referral (false once fully refunded, rejected or re-attributed).</summary>
    public bool Counted { get; internal init; }

    /// <summary>The rewards it produced (in this revision).</summary>
    public IReadOnlyList<string> RewardIds { get; internal init; } = [];

    /// <summary>The rules that applied but paid nothing.</summary>
    public IReadOnlyList<SkippedReward> Skipped { get; internal init; } = [];

    /// <summary>When it was decided.</summary>
    public Instant DecidedAt { get; internal init; }

    /// <summary>The same decision with the referral's current number (its rank by event time now).</summary>
    internal RewardDecision Numbered(int number) => number == ReferralNumber ? this : new()
    {
        Program = Program,
        OrderId = OrderId,
        Revision = Revision,
        Referrer = Referrer,
        Chain = Chain,
        ReferralNumber = number,
        Counted = Counted,
        RewardIds = RewardIds,
        Skipped = Skipped,
        DecidedAt = DecidedAt,
    };

    /// <summary>The next revision, which no longer counts as a successful referral (refunded in full or rejected).</summary>
    internal RewardDecision Uncounted(Instant now) => new()
    {
        Program = Program,
        OrderId = OrderId,
        Revision = Revision + 1,
        Referrer = Referrer,
        Chain = Chain,
        ReferralNumber = ReferralNumber,
        Counted = false,
        RewardIds = RewardIds,
        Skipped = Skipped,
        DecidedAt = now,
    };
}
