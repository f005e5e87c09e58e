using NodaTime;
using Npgsql;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.PostgreSql;

/// <summary>The store contract (<see cref="IReferralStore"/>): committed reads, sessions and the outbox.</summary>
public sealed partial class PostgreSqlReferralStore : IReferralStore
{
    private ContractReader? _committedReads;

    private ContractReader CommittedReads => _committedReads ??= new CommittedReader(this);

    async ValueTask<IReferralStoreSession> IReferralStore.BeginAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Npgsql sends BEGIN with the session's first statement: no round trip of its own.
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            return new ContractSession(new PgDb(this, connection, transaction));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    ValueTask<IReadOnlyList<PendingNotification>> IReferralStore.ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ListDueNotificationsAsync(now, limit, cancellationToken);
    }

    ValueTask<IReadOnlyList<PendingNotification>> IReferralStore.ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return ListDeadLetteredNotificationsAsync(limit, cancellationToken);
    }

    ValueTask<IReadOnlyList<string>> IReferralStore.TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken) =>
        TryUpdateNotificationsAsync(updates, cancellationToken);

    ValueTask IReferralStore.AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        AcknowledgeNotificationsAsync(ids, cancellationToken);

    ValueTask<ReferralCodeRecord?> IReferralStoreReader.FindCodeAsync(ReferralCode code, CancellationToken cancellationToken) =>
        CommittedReads.FindCodeAsync(code, cancellationToken);

    ValueTask<IReadOnlyList<ReferralCodeRecord>> IReferralStoreReader.ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListCodesByOwnerAsync(program, owner, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<ReferralCodeChange>> IReferralStoreReader.ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListCodeChangesAsync(after, limit, cancellationToken);

    ValueTask<IReadOnlyList<CodeRow>> IReferralStoreReader.ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken) =>
        CommittedReads.ListCodeHistoryAsync(code, cancellationToken);

    ValueTask<Participant?> IReferralStoreReader.FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken) =>
        CommittedReads.FindParticipantAsync(id, cancellationToken);

    ValueTask<IReadOnlyList<Participant>> IReferralStoreReader.FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken) =>
        CommittedReads.FindParticipantsByContactAsync(contact, cancellationToken);

    ValueTask<IReadOnlyList<string>> IReferralStoreReader.ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken) =>
        CommittedReads.ListVisitorsAsync(customer, cancellationToken);

    ValueTask<Touch?> IReferralStoreReader.FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken) =>
        CommittedReads.FindTouchAsync(program, touchId, cancellationToken);

    ValueTask<IReadOnlyList<Touch>> IReferralStoreReader.FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        CommittedReads.FindTouchesAsync(program, customer, visitors, contacts, from, until, limit, cancellationToken);

    ValueTask<IReadOnlyList<Touch>> IReferralStoreReader.ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListProgramTouchesAsync(program, after, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        CommittedReads.CountTouchesAsync(program, referrer, from, until, limit, cancellationToken);

    ValueTask<OrderRow?> IReferralStoreReader.FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        CommittedReads.FindOrderAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListCustomerOrdersAsync(program, customer, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListProgramOrdersAsync(program, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<OrderRow>> IReferralStoreReader.ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListReferralsAsync(program, referrer, after, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken) =>
        CommittedReads.CountReferralsAsync(program, referrer, after, before, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken) =>
        CommittedReads.CountCreditedOrdersAsync(program, referrer, from, until, limit, cancellationToken);

    ValueTask<int> IReferralStoreReader.CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken) =>
        CommittedReads.CountCodeUsesAsync(code, before, limit, cancellationToken);

    ValueTask<IReadOnlyList<Refund>> IReferralStoreReader.ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        CommittedReads.ListRefundsAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<SummaryRow>> IReferralStoreReader.GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        CommittedReads.GetSummariesAsync(program, participant, keys, cancellationToken);

    ValueTask<RewardRow?> IReferralStoreReader.FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken) =>
        CommittedReads.FindRewardAsync(program, rewardId, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        CommittedReads.ListOrderRewardsAsync(program, orderId, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListDueRewardsAsync(program, due, until, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListProgramRewardsAsync(program, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<RewardRow>> IReferralStoreReader.ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListBeneficiaryRewardsAsync(program, beneficiary, after, limit, cancellationToken);

    ValueTask<IReadOnlyList<EntryRow>> IReferralStoreReader.ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken) =>
        CommittedReads.ListEntriesAsync(program, rewardId, cancellationToken);

    ValueTask<IReadOnlyList<EntryRow>> IReferralStoreReader.ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken) =>
        CommittedReads.ListLedgerAsync(program, afterSequence, limit, cancellationToken);

    ValueTask<IReadOnlyList<FingerprintSighting>> IReferralStoreReader.FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken) =>
        CommittedReads.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    ValueTask<IReadOnlyList<ParticipantErasure>> IReferralStoreReader.ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken) =>
        CommittedReads.ListErasuresAsync(participant, cancellationToken);

    ValueTask<IReadOnlyList<ProgramId>> IReferralStoreReader.ListPendingRebuildsAsync(CancellationToken cancellationToken) =>
        CommittedReads.ListPendingRebuildsAsync(cancellationToken);

    /// <summary>The contract's reads outside a session: each on a connection of its own from the pool, each one statement (one snapshot) where it can be.</summary>
    private sealed class CommittedReader(PostgreSqlReferralStore store) : ContractReader
    {
        protected override async ValueTask<T> Run<TState, T>(TState state, Func<PgDb, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await read(new PgDb(store, connection, null), state, cancellationToken).ConfigureAwait(false);
        }
    }
}
