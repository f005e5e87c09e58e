using NodaTime;
using Referrals.Privacy;

namespace Referrals.Storage;

/// <summary>A referrer's referred orders and how many of them were refunded in full or charged back.</summary>
/// <param name="Orders">Conversions currently credited to the referrer (first conversions, not repeats).</param>
/// <param name="Refunded">Of those, the orders refunded in full or charged back.</param>
public readonly record struct ReferredOrderStats(int Orders, int Refunded);

/// <summary>A participant seen with a fingerprint: registered with it, or converting with it.</summary>
/// <param name="Participant">Who.</param>
/// <param name="At">The conversion's event time; <see langword="null"/> for the participant's registration.</param>
/// <param name="OrderId">The conversion's order id; <see langword="null"/> for the registration.</param>
public readonly record struct FingerprintSighting(ParticipantId Participant, Instant? At, string? OrderId);

/// <summary>
/// The history the fraud checks read: referral and conversion counts per referrer in a time range, refund counts, and
/// who was seen with a fingerprint. Kept current by the writes of the other store interfaces of the same store.
/// </summary>
/// <remarks>Thread-safe; exceptions of the underlying database propagate. Ranges are half-open: from inclusive, until exclusive.</remarks>
public interface IFraudStore
{
    /// <summary>Touches (referrals captured) of the referrer's codes or look-ups with event time in [from, until).</summary>
    ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default);

    /// <summary>Conversions credited to the referrer (attributed, not repeats) with conversion time in [from, until).</summary>
    ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default);

    /// <summary>The referrer's credited orders and how many were refunded in full or charged back.</summary>
    ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default);

    /// <summary>
    /// The participants registered with a fingerprint (<see cref="FingerprintSighting.At"/> <see langword="null"/>, by id),
    /// then the conversions of the program that carried it with event time before <paramref name="until"/>, latest first,
    /// at most <paramref name="limit"/> of them.
    /// </summary>
    ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default);
}
