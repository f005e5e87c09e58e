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
    /// Writes new codes in one unit of one session, leaving out those it cannot write; returns the records left out (the
    /// very objects given): a code given twice (one record of it is kept) and codes the store holds already.
    /// </summary>
    /// <remarks>
    /// A store refuses a new code it holds, its open unit's own rows included, so a code given twice is refused at its
    /// second row: no set of the batch's keys is built here. Each refusal costs the unit again, which is rare (a random
    /// code drawn twice, or one the store holds).
    /// </remarks>
    public async ValueTask<IReadOnlyList<ReferralCodeRecord>> AddManyAsync(IReadOnlyList<ReferralCodeRecord> records, CancellationToken cancellationToken = default)
    {
        var rejected = new List<ReferralCodeRecord>();
        var rows = new List<CodeRow>(records.Count);
        var now = clock.GetCurrentInstant();
        foreach (var r in records)
        {
            rows.Add(new CodeRow(r, now));
        }
        await using var session = await store.BeginAsync(cancellationToken).ConfigureAwait(false);
        while (rows.Count > 0)
        {
            // All or nothing per unit: a code that exists is named by the outcome, left out, and the rest written again.
            var outcome = await session.WriteAsync(new UnitOfWork { Codes = rows }, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == WriteStatus.Written)
            {
                break;
            }
            // The last row of the code: when the code comes twice, the first row was written and the second refused (or,
            // when the store holds it, the first is refused at the next try).
            int i = rows.FindLastIndex(r => string.Equals(r.Record.Code.Value, outcome.Key, StringComparison.Ordinal));
            if (outcome.Kind != RowKind.Code || i < 0)
            {
                throw new InvalidOperationException($"The store refused a batch of new codes with {outcome}, which names none of them.");
            }
            rejected.Add(rows[i].Record);
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
