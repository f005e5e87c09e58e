using NodaTime;
using Referrals.Notifications;

namespace Referrals.Storage;

/// <summary>
/// The store contract: what Core needs of a database. Reads (<see cref="IReferralStoreReader"/>, outside a session:
/// the committed state) and one way to write domain data, a session (<see cref="BeginAsync"/>) taking units of work
/// that Core computed completely. A store keeps data, keys and atomicity and decides no business rule: it never
/// derives a value from other rows (no trigger, no status computed in SQL, no counter it keeps itself), it indexes the
/// plain values Core wrote, and it stores Core's JSON documents verbatim without parsing them. Core's documents never
/// hold a contact hash, fingerprint, visitor id or masked contact: personal data lives only in typed fields, which is
/// what lets a store erase it (<see cref="UnitOfWork.Erasures"/>).
/// </summary>
/// <remarks>
/// <para>
/// Keys: rows are keyed by program first, except participants, visitor links, codes and erasures, which are
/// host-wide (a code is unique across programs: it is how a code finds its program). Ids compare ordinally and
/// case-sensitively; lists ordered by instant then id break ties ordinally (<see cref="ListPosition"/>).
/// </para>
/// <para>
/// Thread-safe: any number of callers may read and begin sessions at once. Exceptions of the underlying database
/// propagate (Core does not catch them); a store documents which of them are worth retrying.
/// </para>
/// <para>
/// The outbox methods below change the delivery state of notifications written by units of work; they are not domain
/// data, and each is conditional on its own so that several processes may deliver at once.
/// </para>
/// <para>
/// The contract suite in the <c>Referrals.Testing</c> package checks all of this against a store; a store runs it by
/// deriving a test class from its <c>ReferralStoreContract</c>.
/// </para>
/// </remarks>
public interface IReferralStore : IReferralStoreReader
{
    /// <summary>Begins a session: the only way to write domain data. Dispose it (<c>await using</c>) in every case.</summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for a serialising store's writer lock.</exception>
    ValueTask<IReferralStoreSession> BeginAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Notifications due for a delivery attempt at <paramref name="now"/>: not dead-lettered, with
    /// <see cref="PendingNotification.DueAt"/> at or before it; by due instant, then id (ordinal), at most
    /// <paramref name="limit"/>. Found through an index on the due instant, never by reading the whole outbox.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is below 1.</exception>
    ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The dead-lettered notifications (<see cref="PendingNotification.DeadLetteredAt"/> set), oldest dead letter first,
    /// then by id (ordinal), at most <paramref name="limit"/>; through an index.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is below 1.</exception>
    ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the delivery state of each update's notification — <see cref="PendingNotification.DueAt"/>,
    /// <see cref="PendingNotification.Attempts"/>, the first and last attempt instants,
    /// <see cref="PendingNotification.NotifiersTold"/>, <see cref="PendingNotification.Failures"/> and
    /// <see cref="PendingNotification.DeadLetteredAt"/>; nothing else — if it is still pending with the update's
    /// <see cref="NotificationUpdate.ExpectedDueAt"/>. Each update is written or skipped by its own condition, atomically
    /// (compare and set): of two processes updating one notification from the same due instant, one wins.
    /// </summary>
    /// <returns>The ids of the notifications written, in the order of <paramref name="updates"/>.</returns>
    ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken = default);

    /// <summary>Removes delivered notifications by id; ids not pending (acknowledged already, never written) are ignored.</summary>
    ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);
}
