namespace Referrals.Rewards;

/// <summary>How many rewards stand in one status and what they are worth, per currency.</summary>
public sealed class RewardTotals
{
    internal RewardTotals(int count, IReadOnlyList<Money> amounts)
    {
        Count = count;
        Amounts = amounts;
    }

    /// <summary>How many rewards.</summary>
    public int Count { get; }

    /// <summary>Their value per currency (net for pending, approved and fulfilled; earned for rejected and revoked), ordered by currency.</summary>
    public IReadOnlyList<Money> Amounts { get; }
}

/// <summary>Where a referrer stands on a ladder rule.</summary>
public sealed class RewardTierProgress
{
    internal RewardTierProgress(string rule, string currentTier, string? nextTier, int? referralsUntilNextTier)
    {
        Rule = rule;
        CurrentTier = currentTier;
        NextTier = nextTier;
        ReferralsUntilNextTier = referralsUntilNextTier;
    }

    /// <summary>The ladder rule (the first level-1 referrer rule with tiers).</summary>
    public string Rule { get; }

    /// <summary>The tier the referrer's next successful referral earns.</summary>
    public string CurrentTier { get; }

    /// <summary>The tier after it, or <see langword="null"/> at the top.</summary>
    public string? NextTier { get; }

    /// <summary>How many more successful referrals until one earns <see cref="NextTier"/> (that one included).</summary>
    public int? ReferralsUntilNextTier { get; }
}

/// <summary>A referrer's standing in a program: referrals, tier, rewards by status and balance.</summary>
public sealed class ReferrerSummary
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal ReferrerSummary()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The referrer.</summary>
    public ParticipantId Referrer { get; internal init; }

    /// <summary>Referred conversions that count (not fully refunded, not re-attributed).</summary>
    public int SuccessfulReferrals { get; internal init; }

    /// <summary>Ladder progress, or <see langword="null"/> when the program has no ladder.</summary>
    public RewardTierProgress? Tier { get; internal init; }

    /// <summary>Rewards held for the hold period.</summary>
    public RewardTotals Pending { get; internal init; } = null!;

    /// <summary>Rewards approved, waiting for fulfilment.</summary>
    public RewardTotals Approved { get; internal init; } = null!;

    /// <summary>Rewards fulfilled (net of partial claw-backs).</summary>
    public RewardTotals Fulfilled { get; internal init; } = null!;

    /// <summary>Rewards rejected.</summary>
    public RewardTotals Rejected { get; internal init; } = null!;

    /// <summary>Rewards revoked (cancelled or clawed back in full).</summary>
    public RewardTotals Revoked { get; internal init; } = null!;

    /// <summary>The sum of the referrer's ledger entries, per currency (ordered by currency): what they have earned net.</summary>
    public IReadOnlyList<Money> Balance { get; internal init; } = [];

}
