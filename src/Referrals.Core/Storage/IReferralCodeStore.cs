using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// Durable home of referral codes. The store, not the caller, guarantees that a normalised code exists once:
/// an insert of an existing code is refused, never a check followed by an insert.
/// </summary>
/// <remarks>
/// Implementations are thread-safe. Every method takes a <see cref="CancellationToken"/>; exceptions of the underlying
/// database propagate unchanged.
/// </remarks>
public interface IReferralCodeStore
{
    /// <summary>Inserts a code unless its normalised value exists.</summary>
    /// <returns><see langword="true"/> when inserted; <see langword="false"/> when the code already exists (nothing is written).</returns>
    ValueTask<bool> TryAddAsync(ReferralCodeRecord record, CancellationToken cancellationToken = default);

    /// <summary>Inserts many codes, each one atomically; the ones whose code already exists are skipped.</summary>
    /// <returns>The codes that were not inserted because they exist (in the store or earlier in <paramref name="records"/>).</returns>
    ValueTask<IReadOnlyCollection<ReferralCode>> AddManyAsync(IReadOnlyList<ReferralCodeRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Reads a code, or <see langword="null"/> when there is none.</summary>
    ValueTask<ReferralCodeRecord?> FindAsync(ReferralCode code, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a code's record if its stored <see cref="ReferralCodeRecord.Version"/> is <paramref name="expectedVersion"/>;
    /// the new record must carry <paramref name="expectedVersion"/> + 1.
    /// </summary>
    /// <returns><see langword="false"/> when the code is missing or was changed by someone else meanwhile.</returns>
    ValueTask<bool> TryUpdateAsync(ReferralCodeRecord record, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Streams every code, in no particular order (used to load the in-memory lookup index at start).</summary>
    IAsyncEnumerable<ReferralCodeRecord> ListAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The codes one participant owns in one program, ordered by normalised code.</summary>
    ValueTask<IReadOnlyList<ReferralCodeRecord>> ListByOwnerAsync(ProgramId program, ParticipantId owner, CancellationToken cancellationToken = default);
}
