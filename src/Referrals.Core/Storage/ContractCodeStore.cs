using NodaTime;
using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// The code service's writes and reads over the store contract: inserts and updates are units of one session each (codes
/// are keyed host-wide, versioned, and the store keeps every version for <see cref="IReferralStoreReader.ListCodeHistoryAsync"/>),
/// reads are the contract's, and the change feed is <see cref="IReferralStoreReader.ListCodeChangesAsync"/>. Codes carry
/// no business rule a store could decide, so this is a plain translation. Thread-safe.
/// </summary>
internal sealed class ContractCodeStore(IReferralStore store, IClock clock)
{
    /// <summary>The store's fast start for the code index, when it has one.</summary>
    public ICodeIndexSource? IndexSource => store as ICodeIndexSource;

    public async ValueTask<bool> TryAddAsync(ReferralCodeRecord record, CancellationToken cancellationToken = default)
    {
        await using var session = await store.BeginAsync(cancellationToken).ConfigureAwait(false);
        var outcome = await session.WriteAsync(new UnitOfWork { Codes = [new CodeRow(record, clock.GetCurrentInstant())] }, cancellationToken).ConfigureAwait(false);
        if (outcome.Status != WriteStatus.Written)
        {
            return false;
        }
        await session.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Writes bulk generation's new codes in one unit of one session, leaving out those it cannot write (a code drawn twice:
    /// its second row; a code the store holds), which it takes out of <paramref name="rows"/>; returns their positions in
    /// the drawn keys (<see cref="BulkCodeRows.DrawnAt"/>).
    /// </summary>
    public async ValueTask<IReadOnlyList<int>> AddManyAsync(BulkCodeRows rows, CancellationToken cancellationToken = default)
    {
        var rejected = new List<int>();
        await using var session = await store.BeginAsync(cancellationToken).ConfigureAwait(false);
        while (rows.Count > 0)
        {
            var outcome = await session.WriteAsync(new UnitOfWork { Codes = rows }, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == WriteStatus.Written)
            {
                break;
            }
            int i = rows.LastIndexOf(outcome.Key);
            if (outcome.Kind != RowKind.Code || i < 0)
            {
                throw new InvalidOperationException($"The store refused a batch of new codes with {outcome}, which names none of them.");
            }
            rejected.Add(rows.DrawnAt(i));
            rows.RemoveAt(i);
        }
        await session.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rejected;
    }

    public ValueTask<ReferralCodeRecord?> FindAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        store.FindCodeAsync(code, cancellationToken);

    public async ValueTask<bool> TryUpdateAsync(ReferralCodeRecord record, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (record.Version != expectedVersion + 1)
        {
            throw new ArgumentException($"A code's new record carries version {expectedVersion + 1}; got {record.Version}.", nameof(record));
        }
        return await TryAddAsync(record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The codes inserted or changed after a position of the change feed, in feed order.</summary>
    public ValueTask<IReadOnlyList<ReferralCodeChange>> ListChangesAsync(long after, int limit, CancellationToken cancellationToken = default) =>
        store.ListCodeChangesAsync(after, limit, cancellationToken);
}
