using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    // STUB: replaced by the reads helper.
    private abstract class ContractReader : IReferralStoreReader
    {
        protected abstract ValueTask<T> Run<TState, T>(TState state, Func<PgDb, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken);

        public ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<ProgramId>> ListPendingRebuildsAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<OrderRow>> ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<OrderRow>> ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<OrderRow>> ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) => throw new NotImplementedException();

        public ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    }

    private const string InsertNotificationSql = "";
    private static void BindNotification(Npgsql.NpgsqlParameterCollection p, PendingNotification n) => throw new NotImplementedException();
    private ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken) => throw new NotImplementedException();
    private ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken) => throw new NotImplementedException();
    private ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken) => throw new NotImplementedException();
    private ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) => throw new NotImplementedException();
}
