using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Pipeline;

/// <summary>
/// The attribution decider's read port over today's store interfaces (inside a unit of work the stores join its
/// transaction) and the in-memory code index. The only place the decider meets the stores.
/// </summary>
internal sealed class StoreAttributionFacts(ReferralStores stores, ReferralCodeService codes) : IAttributionFacts
{
    public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken ct) =>
        stores.Participants.FindParticipantAsync(id, ct);

    public ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken ct) =>
        stores.Participants.FindVisitorsAsync(customer, ct);

    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, CancellationToken ct) =>
        stores.Touches.FindTouchesAsync(program, customer, visitors, contacts, ct);

    public ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken ct) =>
        stores.Conversions.FindFirstAttributionAsync(program, customer, ct);

    public async ValueTask<bool> HasEarlierConversionAsync(ProgramId program, ParticipantId customer, Instant eventTime, string orderId, CancellationToken ct)
    {
        // Indexed rather than foreach: a foreach over the interface boxes an enumerator on every conversion.
        var list = await stores.Conversions.ListConversionsAsync(program, customer, ct).ConfigureAwait(false);
        for (int i = 0; i < list.Count; i++)
        {
            var c = list[i];
            if (c.EventTime < eventTime || (c.EventTime == eventTime && string.CompareOrdinal(c.OrderId, orderId) < 0))
            {
                return true;
            }
        }
        return false;
    }

    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant eventTime, string orderId, int limit, CancellationToken ct) =>
        stores.Conversions.CountCodeUsesBeforeAsync(code, eventTime, orderId, ct);

    public ReferralCodeRecord? FindCode(ReferralCode code) => codes.FindIndexed(code);
}
