using NodaTime;
using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// One version of a code: the record as it was written and when Core wrote it. A store keeps every version, so the
/// state of a code at an order's event time can be judged later (<see cref="IReferralStoreReader.ListCodeHistoryAsync"/>).
/// </summary>
public sealed class CodeRow
{
    /// <summary>A version of a code.</summary>
    /// <param name="record">The record; its <see cref="ReferralCodeRecord.Version"/> is the row's version (1 for a new code).</param>
    /// <param name="changedAt">When this version took effect (the library's clock); the creation instant for version 1.</param>
    /// <exception cref="ArgumentNullException"><paramref name="record"/> is <see langword="null"/>.</exception>
    public CodeRow(ReferralCodeRecord record, Instant changedAt)
    {
        ArgumentNullException.ThrowIfNull(record);
        Record = record;
        ChangedAt = changedAt;
    }

    /// <summary>The record. The store keys it by <see cref="ReferralCodeRecord.Code"/> (unique across all programs).</summary>
    public ReferralCodeRecord Record { get; }

    /// <summary>When this version took effect; it stays in effect until the next version's instant.</summary>
    public Instant ChangedAt { get; }
}
