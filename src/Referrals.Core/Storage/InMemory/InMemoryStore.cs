using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// The reference implementation of <see cref="IReferralStore"/>, held in process memory: thread-safe, with the
/// semantics of the database stores (unique keys, versions, atomic units, sessions that see their own writes and roll
/// back when disposed uncommitted). For tests, demos and single-process hosts that can lose their data on restart.
/// </summary>
/// <remarks>
/// <para>
/// The data lives in mutable hash tables and sorted indexes, so writing a row and reading a page cost the same whatever
/// the store holds. Sessions are serialised by a writer lock taken by <see cref="IReferralStore.BeginAsync"/> and
/// released when the session is disposed. A session writes its units in place, marked pending and journalled: a unit
/// that stops (<see cref="WriteStatus.Conflict"/>, <see cref="WriteStatus.Duplicate"/>) is undone alone, a session
/// disposed uncommitted is undone whole, and the commit settles the marks. Reads outside a session skip the pending
/// writes, so they see only committed state; they take a read lock that a session's write, commit or rollback holds
/// exclusively while it runs (never across an await): microseconds for a conversion's unit, longer for a bulk insert
/// of codes or an erasure (which scans the touches and orders), and readers wait that long.
/// </para>
/// <para>
/// The outbox's delivery state is kept apart from the domain data, so the delivery methods change it without a
/// session and a session's commit never overwrites it.
/// </para>
/// </remarks>
public sealed class InMemoryStore : IReferralStore
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);
    private readonly InMemoryOutbox _outbox = new();
    private readonly StoreState _state = new();
    private readonly IReferralStoreReader _reads;

    /// <summary>An empty store.</summary>
    public InMemoryStore() => _reads = new CommittedReader(_state, _gate);

    async ValueTask<IReferralStoreSession> IReferralStore.BeginAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new InMemorySession(this, _state);
    }

    /// <summary>Runs a change of the session's data with readers outside the session kept out.</summary>
    internal Writing Write()
    {
        _gate.EnterWriteLock();
        return new Writing(_gate);
    }

    internal readonly struct Writing(ReaderWriterLockSlim gate) : IDisposable
    {
        public void Dispose() => gate.ExitWriteLock();
    }

    internal void Publish(IReadOnlyList<PendingNotification> notifications)
    {
        using (Write())
        {
            _outbox.Add(notifications);
            _state.Commit();
        }
    }

    internal bool IsNotificationTaken(string id) => _outbox.Contains(id);

    /// <summary>Index entries the range counts visited one by one since the store was made (counts go by rank); for tests.</summary>
    internal long CountEntriesWalked
    {
        get
        {
            using (Write())
            {
                return _state.CountEntriesWalked;
            }
        }
    }

    internal void ReleaseWriter() => _writer.Release();

    ValueTask<IReadOnlyList<PendingNotification>> IReferralStore.ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(_outbox.ListDue(now, limit));
    }

    ValueTask<IReadOnlyList<PendingNotification>> IReferralStore.ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(_outbox.ListDeadLettered(limit));
    }

    ValueTask<IReadOnlyList<string>> IReferralStore.TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updates);
        cancellationToken.ThrowIfCancellationRequested();
        return new(_outbox.TryUpdate(updates));
    }

    ValueTask IReferralStore.AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellationToken.ThrowIfCancellationRequested();
        _outbox.Acknowledge(ids);
        return ValueTask.CompletedTask;
    }

    ValueTask<ReferralCodeRecord?> IReferralStoreReader.FindCodeAsync(ReferralCode code, CancellationToken cancellationToken) =>
        _reads.FindCodeAsync(code, cancellationToken);

    ValueTask<IReadOnlyList<ReferralCodeRecord>> IReferralStoreReader.ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListCodesByOwnerAsync(program, owner, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<ReferralCodeChange>> IReferralStoreReader.ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken) =>
        _reads.ListCodeChangesAsync(after, limit, cancellationToken);

    ValueTask<IReadOnlyList<CodeRow>> IReferralStoreReader.ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken) =>
        _reads.ListCodeHistoryAsync(code, cancellationToken);

    ValueTask<Participant?> IReferralStoreReader.FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken) =>
        _reads.FindParticipantAsync(id, cancellationToken);

    ValueTask<IReadOnlyList<Participant>> IReferralStoreReader.FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken) =>
        _reads.FindParticipantsByContactAsync(contact, cancellationToken);

    ValueTask<IReadOnlyList<string>> IReferralStoreReader.ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken) =>
        _reads.ListVisitorsAsync(customer, cancellationToken);

    ValueTask<Touch?> IReferralStoreReader.FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken) =>
        _reads.FindTouchAsync(program, touchId, cancellationToken);

    ValueTask<IReadOnlyList<Touch>> IReferralStoreReader.FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        _reads.FindTouchesAsync(program, customer, visitors, contacts, from, until, limit, cancellationToken);

    ValueTask<IReadOnlyList<Touch>> IReferralStoreReader.ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListProgramTouchesAsync(program, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListProgramRewardsAsync(program, after, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        _reads.CountTouchesAsync(program, referrer, from, until, limit, cancellationToken);

    ValueTask<OrderRow?> IReferralStoreReader.FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        _reads.FindOrderAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListCustomerOrdersAsync(program, customer, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListProgramOrdersAsync(program, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListReferralsAsync(program, referrer, after, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken) =>
        _reads.CountReferralsAsync(program, referrer, after, before, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        _reads.CountCreditedOrdersAsync(program, referrer, from, until, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken) =>
        _reads.CountCodeUsesAsync(code, before, limit, cancellationToken);

    ValueTask<IReadOnlyList<Refund>> IReferralStoreReader.ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        _reads.ListRefundsAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<SummaryRow>> IReferralStoreReader.GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        _reads.GetSummariesAsync(program, participant, keys, cancellationToken);

    ValueTask<RewardRow?> IReferralStoreReader.FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken) =>
        _reads.FindRewardAsync(program, rewardId, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        _reads.ListOrderRewardsAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListDueRewardsAsync(program, due, until, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        _reads.ListBeneficiaryRewardsAsync(program, beneficiary, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<EntryRow>> IReferralStoreReader.ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken) =>
        _reads.ListEntriesAsync(program, rewardId, cancellationToken);

    ValueTask<IReadOnlyList<EntryRow>> IReferralStoreReader.ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken) =>
        _reads.ListLedgerAsync(program, afterSequence, limit, cancellationToken);

    ValueTask<IReadOnlyList<FingerprintSighting>> IReferralStoreReader.FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken) =>
        _reads.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    ValueTask<IReadOnlyList<ParticipantErasure>> IReferralStoreReader.ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken) =>
        _reads.ListErasuresAsync(participant, cancellationToken);

    ValueTask<IReadOnlyList<ProgramId>> IReferralStoreReader.ListPendingRebuildsAsync(CancellationToken cancellationToken) =>
        _reads.ListPendingRebuildsAsync(cancellationToken);

    private sealed class CommittedReader(StoreState state, ReaderWriterLockSlim gate) : StateReader(state, gate)
    {
        protected override bool Own => false;
    }
}
