using NodaTime;
using Referrals.Privacy;

namespace Referrals.Fraud;

/// <summary>
/// What the fraud checks may read of the program's history: counts per referrer in a time range, a referrer's refunded
/// orders, who was seen with a fingerprint, and who referred a participant first. The library passes its implementation
/// to every check through <see cref="FraudContext.History"/>; inside a conversion it reads within the conversion's unit
/// of work. Thread-safe. Ranges are half-open: from inclusive, until exclusive.
/// </summary>
public interface IFraudHistory
{
    /// <summary>
    /// Touches (referrals captured) of the referrer's codes or look-ups with event time in [from, until), counted up to
    /// <paramref name="limit"/>: the result is the count or <paramref name="limit"/>, whichever is smaller. A check that
    /// compares with a maximum passes the maximum + 1, so its cost is bounded by its policy, not by the referrer's history
    /// (a database counts the rows of the range one by one).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Conversions credited to the referrer (attributed, not repeats) with conversion time in [from, until), counted up
    /// to <paramref name="limit"/> (see <see cref="CountReferralsAsync"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>The referrer's credited orders and how many of them were refunded in full or charged back.</summary>
    ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default);

    /// <summary>
    /// The participants registered with a fingerprint (<see cref="FingerprintSighting.At"/> <see langword="null"/>, by id),
    /// then the conversions of the program that carried it with event time before <paramref name="until"/>, latest first,
    /// at most <paramref name="limit"/> of them.
    /// </summary>
    ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Who referred <paramref name="participant"/> on their first credited conversion (the edge of the referral network
    /// above them), or <see langword="null"/> when nobody did.
    /// </summary>
    ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default);
}
