using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// The reward ledger (append-only entries), the reward decision of each conversion and refunds. Writes go through
/// <see cref="TryCommitAsync"/> only, all or nothing, with optimistic concurrency per beneficiary account: this is what
/// keeps caps and referral numbers right when several conversions of one referrer are processed at once. A commit also
/// carries the change's <see cref="PendingNotification"/>s (the outbox) and, when the same store implements
/// <see cref="IConversionStore"/>, the conversion's attribution: the writes of one conversion land together or not at all.
/// </summary>
/// <remarks>Thread-safe; exceptions of the underlying database propagate.</remarks>
public interface IRewardStore
{
    /// <summary>A beneficiary's entries, current referral decisions and version (version 0 and nothing else when new).</summary>
    ValueTask<RewardAccount> LoadAccountAsync(ProgramId program, ParticipantId beneficiary, CancellationToken cancellationToken = default);

    /// <summary>The current reward decision of an order, or <see langword="null"/>.</summary>
    ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>Every ledger entry of the rewards earned on an order (all revisions), oldest first.</summary>
    ValueTask<IReadOnlyList<RewardEntry>> ListOrderEntriesAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>Every ledger entry of one reward, oldest first; empty when there is no such reward.</summary>
    ValueTask<IReadOnlyList<RewardEntry>> ListRewardEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default);

    /// <summary>The refunds of an order, in the order they were recorded.</summary>
    ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>Every entry of the program's open rewards (pending or approved: not yet fulfilled, rejected or revoked), oldest first.</summary>
    ValueTask<IReadOnlyList<RewardEntry>> ListOpenEntriesAsync(ProgramId program, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a commit at once, or nothing when an expected version or revision changed or an id exists: an entry id
    /// for the same reward (entry ids are unique per reward), a refund id, a notification id.
    /// </summary>
    /// <exception cref="ArgumentException">An entry is for an account the commit does not list, or for another program.</exception>
    /// <exception cref="InvalidOperationException">The commit saves an attribution whose conversion is not recorded.</exception>
    ValueTask<RewardCommitOutcome> TryCommitAsync(RewardCommit commit, CancellationToken cancellationToken = default);

    /// <summary>Notifications committed before <paramref name="recordedBefore"/> and not acknowledged, oldest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<PendingNotification>> ListPendingNotificationsAsync(Instant recordedBefore, int limit, CancellationToken cancellationToken = default);

    /// <summary>Removes delivered notifications by id; ids that are not pending (acknowledged already) are ignored.</summary>
    ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);
}
