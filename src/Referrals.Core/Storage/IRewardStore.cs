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
/// The outbox's notifications stay until acknowledged; their delivery state changes through
/// <see cref="TryUpdateNotificationsAsync"/>, which is conditional, so several processes may deliver at once.
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

    /// <summary>
    /// Notifications due for a delivery attempt at <paramref name="now"/>: not dead-lettered, with
    /// <see cref="PendingNotification.DueAt"/> at or before it; by due instant, then id (ordinal), at most
    /// <paramref name="limit"/>. Found through an index on the due instant, never by reading the whole outbox.
    /// </summary>
    ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the delivery state of each update's notification — <see cref="PendingNotification.DueAt"/>,
    /// <see cref="PendingNotification.Attempts"/>, the first and last attempt instants, <see cref="PendingNotification.NotifiersTold"/>,
    /// <see cref="PendingNotification.Failures"/> and <see cref="PendingNotification.DeadLetteredAt"/>; nothing else — if it
    /// is still pending with the update's <see cref="NotificationUpdate.ExpectedDueAt"/>. Each update is written or skipped by
    /// its own condition; the library uses this to claim notifications before delivering
    /// them and to record what an attempt achieved.
    /// </summary>
    /// <returns>The ids of the notifications written, in the order of <paramref name="updates"/>.</returns>
    ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken = default);

    /// <summary>Removes delivered notifications by id; ids that are not pending (acknowledged already) are ignored.</summary>
    ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// The dead-lettered notifications (<see cref="PendingNotification.DeadLetteredAt"/> set), oldest dead letter first
    /// (then by id), at most <paramref name="limit"/>; found through an index, not by reading the whole outbox.
    /// </summary>
    ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken = default);
}
