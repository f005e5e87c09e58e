using NodaTime;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The fraud checks' history port over today's store interfaces: the counts, stats and sightings of
/// <see cref="IFraudStore"/>, and who referred whom from <see cref="IConversionStore.FindFirstAttributionAsync"/>.
/// The only place the fraud checks meet the stores; it goes to the narrow store contract's reads unchanged in shape.
/// </summary>
internal sealed class StoreFraudHistory(IFraudStore fraud, IConversionStore conversions) : IFraudHistory
{
    // The old stores count without a limit; the result is capped so the port's contract holds.
    public async ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        Math.Min(limit, await fraud.CountReferralsAsync(program, referrer, from, until, cancellationToken).ConfigureAwait(false));

    public async ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        Math.Min(limit, await fraud.CountReferredConversionsAsync(program, referrer, from, until, cancellationToken).ConfigureAwait(false));

    public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) =>
        fraud.GetReferredOrderStatsAsync(program, referrer, cancellationToken);

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
        fraud.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    public async ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
        (await conversions.FindFirstAttributionAsync(program, participant, cancellationToken).ConfigureAwait(false))?.Referrer;
}
