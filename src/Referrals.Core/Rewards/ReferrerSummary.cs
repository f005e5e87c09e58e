namespace Referrals.Rewards;

/// <summary>How many rewards stand in one status and what they are worth, per currency.</summary>
/// <param name="Count">How many rewards.</param>
/// <param name="Amounts">Their value per currency (net for pending, approved and fulfilled; earned for rejected and revoked), ordered by currency.</param>
public sealed record RewardTotals(int Count, IReadOnlyList<Money> Amounts);

/// <summary>Where a referrer stands on a ladder rule.</summary>
/// <param name="Rule">The ladder rule (the first level-1 referrer rule with tiers).</param>
/// <param name="CurrentTier">The tier the referrer's next successful referral earns.</param>
/// <param name="NextTier">The tier after it, or <see langword="null"/> at the top.</param>
/// <param name="ReferralsUntilNextTier">How many more successful referrals until one earns <paramref name="NextTier"/> (that one included).</param>
public sealed record RewardTierProgress(string Rule, string CurrentTier, string? NextTier, int? ReferralsUntilNextTier);

/// <summary>A referrer's standing in a program: referrals, tier, rewards by status and balance.</summary>
public sealed record ReferrerSummary
{
    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>The referrer.</summary>
    public required ParticipantId Referrer { get; init; }

    /// <summary>Referred conversions that count (not fully refunded, not re-attributed).</summary>
    public required int SuccessfulReferrals { get; init; }

    /// <summary>Ladder progress, or <see langword="null"/> when the program has no ladder.</summary>
    public RewardTierProgress? Tier { get; init; }

    /// <summary>Rewards held for the hold period.</summary>
    public required RewardTotals Pending { get; init; }

    /// <summary>Rewards approved, waiting for fulfilment.</summary>
    public required RewardTotals Approved { get; init; }

    /// <summary>Rewards fulfilled (net of partial claw-backs).</summary>
    public required RewardTotals Fulfilled { get; init; }

    /// <summary>Rewards rejected.</summary>
    public required RewardTotals Rejected { get; init; }

    /// <summary>Rewards revoked (cancelled or clawed back in full).</summary>
    public required RewardTotals Revoked { get; init; }

    /// <summary>The sum of the referrer's ledger entries, per currency (ordered by currency): what they have earned net.</summary>
    public required IReadOnlyList<Money> Balance { get; init; }

    /// <summary>Every reward paid to the participant in the program (as referrer, upline or referee), oldest first.</summary>
    public required IReadOnlyList<Reward> Rewards { get; init; }
}
