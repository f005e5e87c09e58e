namespace Referrals.Storage;

/// <summary>
/// One transaction of a store (<see cref="IReferralStore.BeginAsync"/>): Core reads through it, writes units of work to
/// it and commits it once. Core passes the session to every stage of an operation, so there is no ambient transaction to
/// find: whatever holds the session is in the transaction.
/// </summary>
/// <remarks>
/// <para>
/// Reads on a session see the committed state plus the session's own written units. Nobody else sees a unit before
/// <see cref="CommitAsync"/> returns; then they see all the session's units at once. Disposing a session that was not
/// committed rolls all of its units back.
/// </para>
/// <para>
/// Concurrency: a store either serialises sessions (SQLite's <c>BEGIN IMMEDIATE</c>, the in-memory store's writer
/// lock, both taken by <see cref="IReferralStore.BeginAsync"/>), or lets them run at once and makes every version check
/// of <see cref="WriteAsync"/> hold until commit (PostgreSQL: <c>SELECT … FOR UPDATE</c> on the versioned rows read or
/// replaced, unique keys with <c>INSERT … ON CONFLICT DO NOTHING</c>). Either way, of two sessions writing the same
/// version of a row exactly one gets <see cref="WriteStatus.Written"/>; a commit never fails for a conflict that
/// <see cref="WriteAsync"/> did not report. Sessions do not nest: a caller holding a session must not begin another on
/// the same store (with a serialising store that waits forever).
/// </para>
/// <para>
/// A session is used by one caller at a time (not thread-safe). After <see cref="CommitAsync"/> or disposal, every
/// method but <see cref="IAsyncDisposable.DisposeAsync"/> throws <see cref="InvalidOperationException"/>.
/// </para>
/// </remarks>
public interface IReferralStoreSession : IReferralStoreReader, IAsyncDisposable
{
    /// <summary>
    /// Writes a unit of work at once or not at all, inside the session (a savepoint in a database): on
    /// <see cref="WriteStatus.Conflict"/> or <see cref="WriteStatus.Duplicate"/> nothing of the unit was written and the
    /// session's earlier units stand; the session stays usable, so Core can decide again and write another unit.
    /// </summary>
    /// <returns>Written, or the first row that stopped the unit (see <see cref="WriteOutcome"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="unit"/> or one of its lists is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A written row has a version below 1, or a read row a version below 0.</exception>
    /// <exception cref="InvalidOperationException">The session was committed or disposed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing of the unit was written, the session stays usable.</exception>
    ValueTask<WriteOutcome> WriteAsync(UnitOfWork unit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes every unit written, durably as the store promises (its documentation says what survives a crash). When
    /// it returns, every reader sees them. When it throws, the caller cannot know whether the commit happened (a lost
    /// connection): Core's writes are idempotent by natural keys, so the operation is sent again, and returns
    /// <see cref="WriteStatus.Duplicate"/> if the first attempt landed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session was committed or disposed.</exception>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);
}
