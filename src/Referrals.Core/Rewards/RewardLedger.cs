using System.Globalization;
using System.Text;
using NodaTime;

namespace Referrals.Rewards;

/// <summary>What a ledger entry records.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum RewardEntryType
{
    /// <summary>A reward was earned (positive amount); it starts pending.</summary>
    Earned = 1,

    /// <summary>The hold ended or a person approved it (amount zero).</summary>
    Approved = 2,

    /// <summary>The host's fulfiller delivered it (amount zero; the fulfiller's reference).</summary>
    Fulfilled = 3,

    /// <summary>Rejected before fulfilment, for fraud or by a person (negative: the whole remaining value).</summary>
    Rejected = 4,

    /// <summary>Cancelled before fulfilment: the order was refunded or charged back, or re-attributed (negative).</summary>
    Cancelled = 5,

    /// <summary>Reduced before fulfilment: a partial refund of a percentage-based reward (negative).</summary>
    Adjusted = 6,

    /// <summary>Taken back after fulfilment: a refund, charge-back or re-attribution (negative).</summary>
    ClawedBack = 7,

    /// <summary>
    /// A reward held for fraud review was released by a person (or by the program's review deadline): it continues as a
    /// normal pending reward, approved when its hold ends (amount zero).
    /// </summary>
    Released = 8,
}

/// <summary>Where a reward stands.</summary>
public enum RewardStatus
{
    /// <summary>
    /// Held until <see cref="RewardTerms.HoldUntil"/> (the return window) — and, while <see cref="Reward.UnderReview"/>,
    /// until a person releases it.
    /// </summary>
    Pending = 1,

    /// <summary>Approved, waiting for the fulfiller.</summary>
    Approved = 2,

    /// <summary>Delivered by the host's fulfiller (possibly partly clawed back since).</summary>
    Fulfilled = 3,

    /// <summary>Rejected (fraud or a person); never paid.</summary>
    Rejected = 4,

    /// <summary>Revoked: cancelled before fulfilment, or clawed back in full after it.</summary>
    Revoked = 5,
}

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

/// <summary>
/// One entry of the append-only reward ledger. Entries are never edited or deleted: a correction is a new entry.
/// A beneficiary's balance is the sum of their entries' amounts, per currency. Every negative entry belongs to an earlier
/// <see cref="RewardEntryType.Earned"/> entry of the same <see cref="RewardId"/> and never takes it below zero.
/// </summary>
public sealed class RewardEntry
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal RewardEntry()
    {
    }

    /// <summary>
    /// Id of the entry, unique within its reward: a store refuses a second entry with this id for the same
    /// <see cref="RewardId"/> (the library's ids are the reward id and what happened, so they are unique anywhere).
    /// </summary>
    public string EntryId { get; internal init; } = null!;

    /// <summary>The reward.</summary>
    public string RewardId { get; internal init; } = null!;

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>Who is paid.</summary>
    public ParticipantId Beneficiary { get; internal init; }

    /// <summary>The order the reward was earned on.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>What happened.</summary>
    public RewardEntryType Type { get; internal init; }

    /// <summary>Positive for <see cref="RewardEntryType.Earned"/>, negative for reversals, zero for status changes.</summary>
    public Money Amount { get; internal init; }

    /// <summary>When the entry was written (the library's clock).</summary>
    public Instant RecordedAt { get; internal init; }

    /// <summary>Who did it, for manual approvals and rejections.</summary>
    public string? Actor { get; internal init; }

    /// <summary>Why, in words.</summary>
    public string? Reason { get; internal init; }

    /// <summary>The fulfiller's reference, or the refund id.</summary>
    public string? Reference { get; internal init; }

    /// <summary>The terms, on <see cref="RewardEntryType.Earned"/> entries.</summary>
    public RewardTerms? Terms { get; internal init; }
}

/// <summary>A reward as its ledger entries say it stands now.</summary>
public sealed class Reward
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal Reward()
    {
    }

    /// <summary>The reward id: the fulfiller's idempotency key.</summary>
    public string Id { get; internal init; } = null!;

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The order it was earned on.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>Who is paid.</summary>
    public ParticipantId Beneficiary { get; internal init; }

    /// <summary>What was awarded and why.</summary>
    public RewardTerms Terms { get; internal init; } = null!;

    /// <summary>The amount earned.</summary>
    public Money Earned { get; internal init; }

    /// <summary>What it is worth before refunds: <see cref="Earned"/> as a late event's re-decisions moved it.</summary>
    internal Money Entitled { get; init; }

    /// <summary>What is left of it after reversals (the sum of its entries).</summary>
    public Money Net { get; internal init; }

    /// <summary>Where it stands (a pending reward whose hold has ended reads as approved only once the approval is written).</summary>
    public RewardStatus Status { get; internal init; }

    /// <summary>When it was earned.</summary>
    public Instant CreatedAt { get; internal init; }

    /// <summary>When it was approved, if it was.</summary>
    public Instant? ApprovedAt { get; internal init; }

    /// <summary>When it was fulfilled, if it was.</summary>
    public Instant? FulfilledAt { get; internal init; }

    /// <summary>The fulfiller's reference.</summary>
    public string? FulfilmentReference { get; internal init; }

    /// <summary>The reason of the last reversal or rejection.</summary>
    public string? Reason { get; internal init; }

    /// <summary>Its ledger entries, oldest first.</summary>
    public IReadOnlyList<RewardEntry> Entries { get; internal init; } = [];

    /// <summary>
    /// Pending and held for fraud review: it is not approved when its hold ends until a person releases or approves it
    /// (or the program's review deadline acts).
    /// </summary>
    public bool UnderReview { get; internal init; }

    /// <summary>One line for a support agent or a finance report.</summary>
    public string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        var t = Terms;
        var sb = new StringBuilder();
        sb.Append(inv, $"{Earned} {t.Kind}{(t.Item is null ? "" : " (" + t.Item + ")")} for {t.Role.ToString().ToLowerInvariant()}");
        if (t.Role == RewardRole.Referrer && t.Level > 1)
        {
            sb.Append(inv, $" level {t.Level}");
        }
        sb.Append(inv, $" {Beneficiary} on order {OrderId}: rule {t.Rule}, {t.Tier}, referral #{t.ReferralNumber}");
        if (t.PercentOfOrder)
        {
            sb.Append(inv, $", of {t.OrderAmount}");
        }
        if (t.Boosts.Count > 0)
        {
            sb.Append(inv, $", boosted by {string.Join(" + ", t.Boosts)}");
        }
        if (t.CappedBy is { } cap)
        {
            sb.Append(inv, $", reduced from {t.BeforeCap} by {cap}");
        }
        sb.Append(inv, $"; {Status}, net {Net}");
        if (UnderReview)
        {
            sb.Append(", held for fraud review");
        }
        if (Reason is { } r)
        {
            sb.Append(inv, $" ({r})");
        }
        return sb.Append('.').ToString();
    }

    /// <summary>Folds one reward's entries (oldest first; the first is its <see cref="RewardEntryType.Earned"/> entry).</summary>
    internal static Reward Fold(IReadOnlyList<RewardEntry> entries)
    {
        var state = RewardFold.Start(entries[0]);
        for (int i = 1; i < entries.Count; i++)
        {
            state = RewardFold.Apply(state, entries[i]);
        }
        return RewardFold.ToReward(state, entries);
    }

    /// <summary>Groups entries by reward (in first-seen order) and folds each.</summary>
    internal static List<Reward> FoldAll(IEnumerable<RewardEntry> entries)
    {
        var byReward = new Dictionary<string, List<RewardEntry>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var e in entries)
        {
            if (!byReward.TryGetValue(e.RewardId, out var list))
            {
                byReward[e.RewardId] = list = [];
                order.Add(e.RewardId);
            }
            list.Add(e);
        }
        var result = new List<Reward>(order.Count);
        foreach (var id in order)
        {
            var list = byReward[id];
            if (list[0].Type == RewardEntryType.Earned)
            {
                result.Add(Fold(list));
            }
        }
        return result;
    }
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

/// <summary>
/// A refund or charge-back of an order. Idempotent by program and <see cref="RefundId"/>. It may be recorded before its
/// order (a refund that syncs before the web order): it is kept and applies when the order arrives, with the same money as
/// if it had come after the order.
/// </summary>
public sealed record Refund
{
    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>The refunded order (1 to 128 characters, as a conversion's order id); it need not be recorded yet.</summary>
    public required string OrderId { get; init; }

    /// <summary>The host's id of the refund: recording it again changes nothing.</summary>
    public required string RefundId { get; init; }

    /// <summary>
    /// The amount refunded, in the order's currency, more than zero. Ignored for a charge-back (the whole order). A refund
    /// recorded before its order in another currency than the order's is kept but refunds nothing (see
    /// <see cref="RefundOutcome.RecordedBeforeOrder"/>).
    /// </summary>
    public required Money Amount { get; init; }

    /// <summary>When it happened.</summary>
    public required Instant EventTime { get; init; }

    /// <summary>A charge-back: the whole order is reversed.</summary>
    public bool IsChargeback { get; init; }

    /// <summary>
    /// How much of an order its refunds cover, at most the order: all of it after a charge-back, else the sum of the
    /// refunds in the order's currency. The order is refunded in full when this equals its amount. A refund in another
    /// currency counts for nothing: only one recorded before its order can be (after, it is refused), see
    /// <see cref="InOtherCurrency"/>.
    /// </summary>
    internal static Money Total(Money order, IReadOnlyList<Refund> refunds)
    {
        decimal total = 0;
        foreach (var r in refunds)
        {
            if (r.IsChargeback)
            {
                return order;
            }
            if (r.InOtherCurrency(order))
            {
                continue;
            }
            // Each refund adds at most what is left of the order, so refunds of any size never overflow the total.
            total += Math.Min(r.Amount.Amount, order.Amount - total);
        }
        return new Money(total, order.Currency);
    }

    /// <summary>
    /// Whether this refund is in another currency than <paramref name="order"/>'s and so refunds nothing of it (a
    /// charge-back takes back the whole order, whatever its amount says).
    /// </summary>
    internal bool InOtherCurrency(Money order) => !IsChargeback && !string.Equals(Amount.Currency, order.Currency, StringComparison.Ordinal);
}

/// <summary>What recording a refund did.</summary>
public enum RefundOutcome
{
    /// <summary>Recorded; <see cref="RefundResult.Entries"/> lists the reversals written.</summary>
    Recorded = 1,

    /// <summary>Recorded before under the same refund id; nothing changed.</summary>
    Duplicate = 2,

    /// <summary>The refund's currency is not the order's; nothing was written.</summary>
    CurrencyMismatch = 4,

    /// <summary>
    /// No conversion with this order id is recorded in the program yet: the refund is kept, and applies when the order
    /// arrives (<c>RecordConversionAsync</c>, <c>RecordConversionsAsync</c>, a POS import) exactly as if it had come
    /// after it — the order's rewards are cancelled or reduced in the same write that records it, an order refunded in
    /// full does not count as a referral, and it counts against its referrer in the refund-abuse check.
    /// <see cref="RefundResult.Entries"/> is empty and <see cref="RefundResult.RefundedTotal"/> is
    /// <see langword="null"/> (the order's amount is not known). Recording it again, before or after the order arrives,
    /// is a <see cref="Duplicate"/>. Its currency is checked when the order arrives: a refund (not a charge-back) in
    /// another currency than the order's is kept but refunds nothing, and is counted by the
    /// <c>referrals.refunds.ignored</c> metric and logged as a warning (event id 5002) naming the refund and the order.
    /// </summary>
    RecordedBeforeOrder = 5,
}

/// <summary>The outcome of recording a refund.</summary>
public sealed class RefundResult
{
    internal RefundResult(RefundOutcome outcome, IReadOnlyList<RewardEntry> entries, Money? refundedTotal)
    {
        Outcome = outcome;
        Entries = entries;
        RefundedTotal = refundedTotal;
    }

    /// <summary>What happened.</summary>
    public RefundOutcome Outcome { get; }

    /// <summary>The ledger entries written (reversals), empty when none.</summary>
    public IReadOnlyList<RewardEntry> Entries { get; }

    /// <summary>
    /// The order's refunded total after this refund (capped at the order value; refunds in another currency recorded
    /// before the order count for nothing); <see langword="null"/> when the order is not recorded yet.
    /// </summary>
    public Money? RefundedTotal { get; }
}
