using Referrals.Storage;
using Referrals.Notifications;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Benchmarks.CopyOnWrite;

/// <summary>The reads of <see cref="IReferralStoreReader"/> over one snapshot: the committed one, or a session's.</summary>
internal abstract class SnapshotReader : IReferralStoreReader
{
    protected abstract StoreState Snapshot { get; }

    private StoreState Read(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Snapshot;
    }

    public ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).FindCode(code));

    public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListCodesByOwner(program, owner, after, limit));

    public ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListCodeChanges(after, limit));

    public ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListCodeHistory(code));

    public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).FindParticipant(id));

    public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).FindParticipantsByContact(contact));

    public ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListVisitors(customer));

    public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(touchId);
        return new(Read(cancellationToken).FindTouch(program, touchId));
    }

    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitors);
        ArgumentNullException.ThrowIfNull(contacts);
        return new(Read(cancellationToken).FindTouches(program, customer, visitors, contacts, from, until, limit));
    }

    public ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).CountTouches(program, referrer, from, until, limit));

    public ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        return new(Read(cancellationToken).FindOrder(program, orderId));
    }

    public ValueTask<IReadOnlyList<OrderRow>> ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListCustomerOrders(program, customer, after, limit));

    public ValueTask<IReadOnlyList<OrderRow>> ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListProgramOrders(program, after, limit));

    public ValueTask<IReadOnlyList<OrderRow>> ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListReferrals(program, referrer, after, limit));

    public ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).CountCreditedOrders(program, referrer, from, until, limit));

    public ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).CountCodeUses(code, before, limit));

    public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        return new(Read(cancellationToken).ListRefunds(program, orderId));
    }

    public ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return new(Read(cancellationToken).GetSummaries(program, participant, keys));
    }

    public ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        return new(Read(cancellationToken).FindReward(program, rewardId));
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        return new(Read(cancellationToken).ListOrderRewards(program, orderId));
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListDueRewards(program, due, until, after, limit));

    public ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListBeneficiaryRewards(program, beneficiary, after, limit));

    public ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        return new(Read(cancellationToken).ListEntries(program, rewardId));
    }

    public ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListLedger(program, afterSequence, limit));

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).FindSightings(program, fingerprint, until, limit));

    public ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default) =>
        new(Read(cancellationToken).ListErasures(participant));
}
