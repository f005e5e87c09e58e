using NodaTime;

namespace Referrals.Rewards;

/// <summary>What a rule awarded and why: the terms recorded on a reward when it is earned; they never change.</summary>
public sealed class RewardTerms
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal RewardTerms()
    {
    }

    /// <summary>Referrer or referee.</summary>
    public RewardRole Role { get; internal init; }

    /// <summary>1 for the referrer (and the referee), 2 and up for the referrer's own referrers.</summary>
    public int Level { get; internal init; }

    /// <summary>What the reward is.</summary>
    public RewardKind Kind { get; internal init; }

    /// <summary>The rule's item (SKU, coupon template), if any.</summary>
    public string? Item { get; internal init; }

    /// <summary>The rule that produced it.</summary>
    public string Rule { get; internal init; } = null!;

    /// <summary>The tier or milestone, in words (<c>referrals 5-9</c>, <c>milestone: referral 10</c>).</summary>
    public string Tier { get; internal init; } = null!;

    /// <summary>
    /// Which referral of the level-1 referrer this was when the reward was decided (1 is the first): its rank among the
    /// referrer's counted referrals by event time, then order id. A late referral before it moves the rank on; the reward
    /// is re-decided (adjusted, or topped up by a reward of its own) only when that changes what it earns.
    /// </summary>
    public int ReferralNumber { get; internal init; }

    /// <summary>True when the amount is a percentage of the order (a partial refund reduces it in proportion).</summary>
    public bool PercentOfOrder { get; internal init; }

    /// <summary>The order value the reward was computed from.</summary>
    public Money OrderAmount { get; internal init; }

    /// <summary>The boosts applied, by name, in order.</summary>
    public IReadOnlyList<string> Boosts { get; internal init; } = [];

    /// <summary>The cap that reduced the reward, in words, or <see langword="null"/>.</summary>
    public string? CappedBy { get; internal init; }

    /// <summary>The amount before a cap reduced it (equal to the earned amount when no cap did).</summary>
    public Money BeforeCap { get; internal init; }

    /// <summary>When the order was placed.</summary>
    public Instant ConversionTime { get; internal init; }

    /// <summary>When the hold ends and the reward is approved.</summary>
    public Instant HoldUntil { get; internal init; }

    /// <summary>
    /// Earned on a referral the fraud checks sent to review: the reward waits for a person's decision
    /// (<c>ReviewQueue</c>) even after its hold ends.
    /// </summary>
    public bool HeldForReview { get; internal init; }

    /// <summary>The same terms, not held for review (a top-up of an order whose rewards were released).</summary>
    internal RewardTerms Released() => new()
    {
        Role = Role,
        Level = Level,
        Kind = Kind,
        Item = Item,
        Rule = Rule,
        Tier = Tier,
        ReferralNumber = ReferralNumber,
        PercentOfOrder = PercentOfOrder,
        OrderAmount = OrderAmount,
        Boosts = Boosts,
        CappedBy = CappedBy,
        BeforeCap = BeforeCap,
        ConversionTime = ConversionTime,
        HoldUntil = HoldUntil,
        HeldForReview = false,
    };
}
