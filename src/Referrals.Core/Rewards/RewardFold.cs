using NodaTime;


namespace Referrals.Rewards;

/// <summary>
/// The reward state machine, in one place: a reward's state after its <see cref="RewardEntryType.Earned"/> entry
/// (<see cref="Start"/>), the state after one more entry (<see cref="Apply"/>), and what the reward waits for
/// (<see cref="Due"/>). <see cref="Reward.Fold"/> is this over a whole ledger; the pipeline applies one entry at a time
/// and writes the state into the reward row, so no store and no second fold re-decides a status.
/// </summary>
internal static class RewardFold
{
    /// <summary>A reward as its entries so far say it stands.</summary>
    internal readonly record struct State
    {
        public required string Id { get; init; }
        public required ProgramId Program { get; init; }
        public required string OrderId { get; init; }
        public required ParticipantId Beneficiary { get; init; }
        public required RewardTerms Terms { get; init; }
        public required Money Earned { get; init; }

        /// <summary>
        /// What the reward is worth before refunds: its earned amount, moved by the re-decisions of a late event
        /// (<see cref="RedecidedReason"/>). A partial refund of a percentage reward takes its share of this.
        /// </summary>
        public Money Entitled { get; init; }
        public required Money Net { get; init; }
        public required RewardStatus Status { get; init; }
        public required Instant CreatedAt { get; init; }
        public Instant? ApprovedAt { get; init; }
        public Instant? FulfilledAt { get; init; }
        public string? FulfilmentReference { get; init; }
        public string? Reason { get; init; }

        /// <summary>A person (or the review deadline) released it from review, or it was approved.</summary>
        public bool Released { get; init; }

        /// <summary>Pending and held for fraud review, not yet released.</summary>
        public bool UnderReview => Status == RewardStatus.Pending && Terms.HeldForReview && !Released;

        /// <summary>Pending or approved: not yet fulfilled, rejected or revoked.</summary>
        public bool IsOpen => Status is RewardStatus.Pending or RewardStatus.Approved;
    }

    /// <summary>The reason of the entries a late event's re-decision writes (<c>Pipeline.RewardCascade</c>): they move what the reward is worth.</summary>
    public const string RedecidedReason = "re-decided by event time";

    /// <summary>The state a reward starts in: pending, for the amount of its earned entry.</summary>
    /// <exception cref="ArgumentException"><paramref name="earned"/> is not an earned entry with terms.</exception>
    public static State Start(RewardEntry earned)
    {
        if (earned.Type != RewardEntryType.Earned || earned.Terms is null)
        {
            throw new ArgumentException($"A reward starts with an earned entry with terms; entry '{earned.EntryId}' is {earned.Type}.", nameof(earned));
        }
        return new State
        {
            Id = earned.RewardId,
            Program = earned.Program,
            OrderId = earned.OrderId,
            Beneficiary = earned.Beneficiary,
            Terms = earned.Terms,
            Earned = earned.Amount,
            Entitled = earned.Amount,
            Net = earned.Amount,
            Status = RewardStatus.Pending,
            CreatedAt = earned.RecordedAt,
        };
    }

    /// <summary>The state after one more entry of the reward (entries in the order they were written).</summary>
    public static State Apply(State state, RewardEntry entry)
    {
        var net = state.Net + entry.Amount;
        var next = state with { Net = net };
        switch (entry.Type)
        {
            case RewardEntryType.Released:
                return next with { Released = true };
            case RewardEntryType.Approved:
                return next with
                {
                    Released = true,
                    ApprovedAt = entry.RecordedAt,
                    Status = state.Status == RewardStatus.Pending ? RewardStatus.Approved : state.Status,
                };
            case RewardEntryType.Fulfilled:
                return next with
                {
                    FulfilledAt = entry.RecordedAt,
                    FulfilmentReference = entry.Reference,
                    Status = net.Amount > 0 ? RewardStatus.Fulfilled : RewardStatus.Revoked,
                };
            case RewardEntryType.Rejected:
                return next with { Status = RewardStatus.Rejected, Reason = entry.Reason };
            case RewardEntryType.Cancelled:
            case RewardEntryType.Adjusted:
            case RewardEntryType.ClawedBack:
                return next with
                {
                    Entitled = string.Equals(entry.Reason, RedecidedReason, StringComparison.Ordinal) ? state.Entitled + entry.Amount : state.Entitled,
                    Reason = entry.Reason,
                    Status = net.Amount <= 0 && state.Status != RewardStatus.Rejected ? RewardStatus.Revoked : state.Status,
                };
            default:
                // An earned entry after the first changes only the net, as the ledger's sum says.
                return next;
        }
    }

    /// <summary>
    /// What the reward waits for, the plain values of its row in the due index: the hold's end while pending, a
    /// person while held for review (since it was earned), the fulfiller once approved (since the approval), and
    /// nothing once fulfilled, rejected or revoked.
    /// </summary>
    public static (RewardDue? Due, Instant? At) Due(in State state) => state.Status switch
    {
        RewardStatus.Pending when state.UnderReview => (RewardDue.Review, state.CreatedAt),
        RewardStatus.Pending => (RewardDue.HoldEnds, state.Terms.HoldUntil),
        RewardStatus.Approved => (RewardDue.Fulfilment, state.ApprovedAt ?? state.CreatedAt),
        _ => (null, null),
    };

    /// <summary>The public view of a state, with the entries it was folded from.</summary>
    public static Reward ToReward(in State state, IReadOnlyList<RewardEntry> entries) => new()
    {
        Id = state.Id,
        Program = state.Program,
        OrderId = state.OrderId,
        Beneficiary = state.Beneficiary,
        Terms = state.Terms,
        Earned = state.Earned,
        Entitled = state.Entitled,
        Net = state.Net,
        Status = state.Status,
        CreatedAt = state.CreatedAt,
        ApprovedAt = state.ApprovedAt,
        FulfilledAt = state.FulfilledAt,
        FulfilmentReference = state.FulfilmentReference,
        Reason = state.Reason,
        Entries = entries,
        UnderReview = state.UnderReview,
    };
}
