using NodaTime;

namespace Referrals.Rewards;

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
