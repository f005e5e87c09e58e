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
