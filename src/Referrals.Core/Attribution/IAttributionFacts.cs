using NodaTime;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Attribution;

/// <summary>
/// The reads one attribution decision makes (the decider's read port). The pipeline implements it over the store it
/// runs the conversion's unit of work in, so every read sees that unit's own writes; moving to another store contract
/// changes only the implementation.
/// </summary>
internal interface IAttributionFacts
{
    /// <summary>A participant's registration, or <see langword="null"/>.</summary>
    ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken ct);

    /// <summary>The visitor or device ids linked to a customer.</summary>
    ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken ct);

    /// <summary>The program's touches naming the customer, one of the visitor ids or one of the contact hashes.</summary>
    ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, CancellationToken ct);

    /// <summary>The customer's first credited attribution (by conversion time, then order id), or <see langword="null"/>.</summary>
    ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken ct);

    /// <summary>True when the customer converted before (<paramref name="eventTime"/>, <paramref name="orderId"/>) in the program.</summary>
    ValueTask<bool> HasEarlierConversionAsync(ProgramId program, ParticipantId customer, Instant eventTime, string orderId, CancellationToken ct);

    /// <summary>
    /// The credited conversions of a code before (<paramref name="eventTime"/>, <paramref name="orderId"/>), counted no
    /// further than <paramref name="limit"/> (the code's use limit: the cost is bounded by it, not by the code's history).
    /// </summary>
    ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant eventTime, string orderId, int limit, CancellationToken ct);

    /// <summary>
    /// A code's record read from the store, for input the index did not find: a code issued by another process since the
    /// index last caught up, or one not loaded yet while the index loads in the background.
    /// </summary>
    ValueTask<ReferralCodeRecord?> FindStoredCodeAsync(ReferralCode code, CancellationToken ct);

    /// <summary>What the in-memory index holds of a code now, or <see langword="null"/> when it is not indexed.</summary>
    IndexedCode? FindCode(ReferralCode code);

    /// <summary>
    /// The statuses a code had over time, for judging it at a touch's and a conversion's event time, from the store's
    /// versions of the code (<c>IReferralStoreReader.ListCodeHistoryAsync</c>); a code never changed (version 1) is its
    /// status all along, without a read. <paramref name="current"/> is what <see cref="FindCode"/> returned.
    /// </summary>
    ValueTask<CodeStatusHistory> FindCodeHistoryAsync(IndexedCode current, CancellationToken ct);
}
