using System.Runtime.ExceptionServices;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Sqlite;

/// <summary>
/// The store contract (<see cref="IReferralStore"/>) on the file: the reads of <see cref="ContractReader"/>, sessions
/// (<see cref="ContractSession"/>) and the notification outbox.
/// </summary>
/// <remarks>
/// A session is one <c>BEGIN IMMEDIATE</c> transaction on the writer's connection, run as one write of the store: it
/// waits for this instance's other writers (and they for it) and goes through the same checks as any write — the
/// file's identity before and after, a checkpoint first after a full disk or past the log's bound, and it counts as one
/// write for the checkpointer. Each unit of work is a savepoint inside it.
/// </remarks>
public sealed partial class SqliteReferralStore : IReferralStore
{
    private ContractReader? _committedReads;

    private ContractReader CommittedReads => _committedReads ??= new CommittedReader(this);

    async ValueTask<IReferralStoreSession> IReferralStore.BeginAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = new ContractSession();
        session.Running = WriteAsync(session, static async (db, s, _) =>
        {
            using var transaction = db.Connection.BeginTransaction(deferred: false);
            db.Ambient = transaction;
            try
            {
                s.Started.TrySetResult(db);
                bool commit = await s.Ended.Task.ConfigureAwait(false);
                if (s.Failure is { } failure)
                {
                    // A unit failed with a database error: the transaction is rolled back (by the using) and the
                    // connection is closed by the write machinery, which also notes a full disk or a lost file.
                    ExceptionDispatchInfo.Throw(failure);
                }
                if (commit)
                {
                    transaction.Commit();
                }
            }
            finally
            {
                db.Ambient = null;
            }
            return true;
        }, cancellationToken).AsTask();
        var first = await Task.WhenAny(session.Started.Task, session.Running).ConfigureAwait(false);
        if (first == session.Running)
        {
            await session.Running.ConfigureAwait(false); // throws: the gate wait was cancelled, or the file is lost
            throw new InvalidOperationException("The session ended before it began.");
        }
        session.Database = await session.Started.Task.ConfigureAwait(false);
        return session;
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

    /// <summary>The contract's reads outside a session: each on a reader's connection, in one read transaction of its own.</summary>
    private sealed class CommittedReader(SqliteReferralStore store) : ContractReader
    {
        protected override ValueTask<T> Run<TState, T>(TState state, Func<SqliteSession, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return store.ReadAsync((State: state, Read: read), static async (db, q, ct) =>
            {
                if (db.Ambient is not null)
                {
                    return await q.Read(db, q.State, ct).ConfigureAwait(false); // inside the caller's store transaction
                }
                // One snapshot for every statement of the read; the statements join it as the ambient transaction.
                using var transaction = db.Connection.BeginTransaction(deferred: true);
                db.Ambient = transaction;
                try
                {
                    var result = await q.Read(db, q.State, ct).ConfigureAwait(false);
                    transaction.Commit();
                    return result;
                }
                finally
                {
                    db.Ambient = null;
                }
            }, cancellationToken);
        }
    }

    /// <summary>
    /// A session of the contract (see the class remarks): the reads and units run on the writer's connection inside the
    /// session's transaction; <see cref="CommitAsync"/> and <see cref="DisposeAsync"/> end the write that holds it.
    /// </summary>
    private sealed class ContractSession : ContractReader, IReferralStoreSession
    {
        private int _ended; // 0 open, 1 committed or disposed

        public TaskCompletionSource<SqliteSession> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<bool> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Running { get; set; } = Task.CompletedTask;

        public SqliteSession? Database { get; set; }

        /// <summary>A database error of a unit: the session can only roll back.</summary>
        public Exception? Failure { get; private set; }

        private bool _disposed;

        private SqliteSession Open()
        {
            if (Volatile.Read(ref _ended) != 0)
            {
                throw new InvalidOperationException(_disposed ? "The session was disposed." : "The session was committed; begin a new one.");
            }
            if (Failure is not null)
            {
                throw new InvalidOperationException("A unit of this session failed with a database error; the session can only be disposed, which rolls it back.", Failure);
            }
            return Database!;
        }

        protected override async ValueTask<T> Run<TState, T>(TState state, Func<SqliteSession, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
        {
            var db = Open();
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await read(db, state, cancellationToken).ConfigureAwait(false);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e)
            {
                Failure = e;
                throw;
            }
        }

        public async ValueTask<WriteOutcome> WriteAsync(UnitOfWork unit, CancellationToken cancellationToken = default)
        {
            ValidateUnit(unit);
            var db = Open();
            cancellationToken.ThrowIfCancellationRequested();
            if (IsBulkCodeUnit(unit))
            {
                return await WriteBulkCodesAsync(db, (BulkCodeRows)unit.Codes, cancellationToken).ConfigureAwait(false);
            }
            db.Command("SAVEPOINT referrals_unit;").ExecuteNonQuery();
            WriteOutcome outcome;
            try
            {
                outcome = await ApplyUnitAsync(db, unit, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                try
                {
                    db.Command("ROLLBACK TO referrals_unit; RELEASE referrals_unit;").ExecuteNonQuery();
                }
                catch (Microsoft.Data.Sqlite.SqliteException)
                {
                    // SQLite ended the transaction itself (an I/O error): the session fails below.
                    Failure ??= e;
                }
                if (e is Microsoft.Data.Sqlite.SqliteException)
                {
                    Failure = e;
                }
                throw;
            }
            db.Command(outcome.Status == WriteStatus.Written ? "RELEASE referrals_unit;" : "ROLLBACK TO referrals_unit; RELEASE referrals_unit;").ExecuteNonQuery();
            return outcome;
        }

        /// <summary>A unit of bulk generation's new codes alone (and more than a few of them).</summary>
        private static bool IsBulkCodeUnit(UnitOfWork unit) =>
            unit.Codes is BulkCodeRows { Count: > 64 }
            && unit.ReadSummaries.Count == 0 && unit.ReadOrders.Count == 0 && unit.Participants.Count == 0 && unit.VisitorLinks.Count == 0
            && unit.Touches.Count == 0 && unit.Orders.Count == 0 && unit.Refunds.Count == 0 && unit.Entries.Count == 0
            && unit.Rewards.Count == 0 && unit.Summaries.Count == 0 && unit.Notifications.Count == 0 && unit.Erasures.Count == 0
            && unit.RebuiltPrograms.Count == 0;

        /// <summary>
        /// Bulk generation's new codes, written without a savepoint: a savepoint keeps the original of every page the unit
        /// changes in a sub-journal (in memory: <c>temp_store = MEMORY</c>), and a chunk of random codes changes nearly
        /// every leaf of the codes table once it is larger than the chunk — tens of MB that grew with the table. The
        /// unit is checked first instead: a code drawn twice in it, or one the store holds, stops it before anything is
        /// written (the outcome names the first such row in the unit's order, as the savepoint path does). A failure while
        /// writing fails the session, which then rolls back whole.
        /// </summary>
        private async ValueTask<WriteOutcome> WriteBulkCodesAsync(SqliteSession db, BulkCodeRows rows, CancellationToken cancellationToken)
        {
            var codes = new string[rows.Count];
            var index = new Dictionary<string, int>(rows.Count, StringComparer.Ordinal);
            int stop = int.MaxValue;
            for (int i = 0; i < codes.Length; i++)
            {
                codes[i] = new string(rows.Key(i)); // the key alone: a row would make its record and display too
                if (!index.TryAdd(codes[i], i))
                {
                    stop = Math.Min(stop, i); // drawn twice: the later row stops the unit
                }
            }
            var command = db.Command("SELECT code FROM codes WHERE code IN (SELECT value FROM json_each($codes));");
            command.Parameters.AddWithValue("$codes", System.Text.Json.JsonSerializer.Serialize(codes));
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    stop = Math.Min(stop, index[reader.GetString(0)]); // held: its first row stops the unit
                }
            }
            if (stop != int.MaxValue)
            {
                return WriteOutcome.Duplicate(RowKind.Code, codes[stop]);
            }
            try
            {
                return WriteCodes(db, rows, cancellationToken) ?? WriteOutcome.Written;
            }
            catch (Exception e)
            {
                Failure = e;
                throw;
            }
        }

        public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            Open();
            cancellationToken.ThrowIfCancellationRequested();
            Volatile.Write(ref _ended, 1);
            Ended.TrySetResult(true);
            await Running.ConfigureAwait(false); // the commit, and the checks after it (a lost file throws here)
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            Volatile.Write(ref _ended, 1);
            Ended.TrySetResult(false);
            try
            {
                await Running.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Disposal does not throw: a failed unit or commit threw to its caller already, and a rollback that
                // fails leaves nothing written (the connection is closed, which ends the transaction).
            }
        }
    }
}
