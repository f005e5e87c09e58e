namespace Referrals.Storage;

/// <summary>
/// Implemented by a store that can run a piece of work — every read and write of one conversion — as one transaction
/// of its database. Optional: the library uses it when the store that keeps conversions implements it and also keeps the
/// touches and rewards (the built-in SQLite store does), and otherwise writes a conversion in the steps described on
/// <see cref="IConversionStore"/> and <see cref="IRewardStore.TryCommitAsync"/>.
/// </summary>
/// <remarks>
/// <para>What an implementation must guarantee, for the calls <c>work</c> makes on this store instance from its
/// own asynchronous flow (the calls it awaits, and the calls those await):</para>
/// <list type="bullet">
/// <item>They run in one transaction: each sees the writes of the ones before; all of them are committed when
/// <c>work</c> completes, none of them when it throws (the exception then propagates unchanged).</item>
/// <item>The transaction is serialisable with other writers: a write from another flow or process waits until it ends,
/// so what <c>work</c> read is still true when it commits. Reads from other flows see the state before it.</item>
/// <item>A write that reports an expected refusal (a duplicate, a conflict) or throws leaves the transaction's earlier
/// writes as they were, and none of its own. A write that fails after writing part of its rows (an I/O error) may
/// instead fail the whole transaction: it is then rolled back when <c>work</c> ends, and never committed half-written.</item>
/// <item>A call made inside <c>work</c> joins the transaction instead of starting another.</item>
/// </list>
/// <para>
/// <c>work</c> must not run store calls concurrently with each other, must not start work that outlives it,
/// and should not wait for anything slow (a network call, a person): other writers wait for it. The library tells
/// notifiers after the commit, never inside.
/// </para>
/// </remarks>
public interface ITransactionalStore
{
    /// <summary>Runs <paramref name="work"/> with <paramref name="state"/> as one transaction and commits it; see the type's remarks.</summary>
    /// <returns>What <paramref name="work"/> returned, once its writes are committed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the transaction began.</exception>
    ValueTask<TResult> RunInTransactionAsync<TState, TResult>(
        TState state,
        Func<TState, CancellationToken, ValueTask<TResult>> work,
        CancellationToken cancellationToken = default);
}
