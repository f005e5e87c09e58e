using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// An optional fast start for the code index, for the library's own stores: every code's current row handed over at once
/// in storage order, without a record or string per row, instead of paging the change feed. A store without it is read
/// through <see cref="IReferralStoreReader.ListCodeChangesAsync"/> (same result, slower for millions of codes).
/// </summary>
/// <remarks>Not part of the public store contract (<c>InternalsVisibleTo</c> the library's stores).</remarks>
internal interface ICodeIndexSource
{
    /// <summary>
    /// Hands every code's current row to <paramref name="sink"/>, in any order, from one consistent snapshot, and returns the
    /// change-feed position of that snapshot: every change at or before it is in what was read, and a change after it is
    /// read by <see cref="IReferralStoreReader.ListCodeChangesAsync"/> from that position.
    /// </summary>
    ValueTask<long> ReadCodeIndexAsync(ICodeIndexSink sink, CancellationToken cancellationToken);
}

/// <summary>Receives the rows of <see cref="ICodeIndexSource.ReadCodeIndexAsync"/>; the spans are valid during the call only.</summary>
internal interface ICodeIndexSink
{
    /// <summary>How many rows are about to come (a hint, to make room once).</summary>
    void Expect(long rows);

    /// <summary>One code's current row.</summary>
    void Add(in CodeIndexRow row);
}
