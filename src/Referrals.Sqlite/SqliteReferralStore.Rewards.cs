using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : IRewardStore
{
    private const string EntryColumns = "e.program, e.entry_id, e.reward_id, e.beneficiary, e.order_id, e.type, e.amount, e.currency, e.recorded_at, e.actor, e.reason, e.reference, e.terms";
    private const string DecisionColumns = "d.program, d.order_id, d.revision, d.referrer, d.decided_at, d.detail";
    private const string RefundColumns = "f.program, f.order_id, f.refund_id, f.amount, f.currency, f.event_time, f.is_chargeback";

    // Queries whose plans the store tests check: each an index range.
    internal const string AccountEntriesSql = $"SELECT {EntryColumns} FROM reward_entries e WHERE e.program = $program AND e.beneficiary = $beneficiary ORDER BY e.seq;";

    internal const string AccountReferralsSql = $"SELECT {DecisionColumns} FROM reward_decisions d WHERE d.program = $program AND d.referrer = $beneficiary ORDER BY d.referral_seq;";

    // CROSS JOIN fixes the loop order (SQLite never reorders it): the open rewards outside, each one's entries a range of
    // reward_entries_by_reward inside. Left to itself, without statistics, the planner may walk the program's whole
    // ledger instead.
    internal const string OpenEntriesSql = $"""
        SELECT {EntryColumns} FROM open_rewards o
        CROSS JOIN reward_entries e ON e.program = o.program AND e.reward_id = o.reward_id AND e.seq >= o.from_seq
        WHERE o.program = $program
        ORDER BY e.recorded_at, e.seq;
        """;

    // The next number of the referrer's decisions, read through the partial index: the decision moves to the end of the
    // referrer's referrals, as in the in-memory store.
    internal const string UpsertDecisionSql = """
        INSERT INTO reward_decisions (program, order_id, revision, referrer, referral_seq, decided_at, detail)
        VALUES ($program, $order_id, $revision, $referrer,
                CASE WHEN $referrer IS NULL THEN 0 ELSE coalesce((
                    SELECT referral_seq FROM reward_decisions
                    WHERE program = $program AND referrer = $referrer ORDER BY referral_seq DESC LIMIT 1), 0) + 1 END,
                $decided_at, $detail)
        ON CONFLICT (program, order_id) DO UPDATE SET
            revision = excluded.revision, referrer = excluded.referrer, referral_seq = excluded.referral_seq,
            decided_at = excluded.decided_at, detail = excluded.detail;
        """;

    // The account's version, entries and referrals: three statements of one command, read one after the other.
    private const string AccountSql = $"SELECT version FROM reward_accounts WHERE program = $program AND beneficiary = $beneficiary; {AccountEntriesSql} {AccountReferralsSql}";

    /// <inheritdoc />
    /// <remarks>The version, entries and referrals are read in one snapshot.</remarks>
    public ValueTask<RewardAccount> LoadAccountAsync(ProgramId program, ParticipantId beneficiary, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, beneficiary), static async (session, key, ct) =>
        {
            using var transaction = session.Begin(deferred: true);
            var command = session.Command(AccountSql, transaction);
            command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
            command.Parameters.AddWithValue("$beneficiary", DbValue(key.beneficiary.Value));
            long version = 0;
            List<RewardEntry> entries;
            var referrals = new List<RewardDecision>();
            using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    version = reader.GetInt64(0);
                }
                await reader.NextResultAsync(ct).ConfigureAwait(false);
                entries = await ReadEntriesAsync(reader, ct).ConfigureAwait(false);
                await reader.NextResultAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    referrals.Add(ReadDecision(reader));
                }
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return new RewardAccount(key.program, key.beneficiary, version, entries, referrals);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return FindByOrderAsync($"SELECT {DecisionColumns} FROM reward_decisions d WHERE d.program = $program AND d.order_id = $order_id;", program, orderId, ReadDecision, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<RewardEntry>> ListOrderEntriesAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) =>
        ListEntriesAsync(program, "e.order_id", orderId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<RewardEntry>> ListRewardEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default) =>
        ListEntriesAsync(program, "e.reward_id", rewardId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, orderId), static async (session, key, ct) =>
        {
            var command = session.Command($"SELECT {RefundColumns} FROM refunds f WHERE f.program = $program AND f.order_id = $order_id ORDER BY f.seq;");
            command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
            command.Parameters.AddWithValue("$order_id", DbValue(key.orderId));
            var refunds = new List<Refund>();
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                refunds.Add(ReadRefund(reader));
            }
            return (IReadOnlyList<Refund>)refunds;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// By recorded time; entries recorded at the same instant in the order they were written (so a reward's entries keep
    /// their ledger order). Reads the open rewards of the program through the <c>open_rewards</c> table, not the ledger.
    /// </remarks>
    public ValueTask<IReadOnlyList<RewardEntry>> ListOpenEntriesAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync(program, static async (session, program, ct) =>
        {
            var command = session.Command(OpenEntriesSql);
            command.Parameters.AddWithValue("$program", DbValue(program.Value));
            return (IReadOnlyList<RewardEntry>)await ReadEntriesAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>BEGIN IMMEDIATE</c> transaction: the account versions, the decision's revision and the ids are checked (one
    /// statement) after the database's write lock is taken, so no other writer (of this or another process) can change
    /// them between the check and the writes; on <see cref="RewardCommitOutcome.Conflict"/> or
    /// <see cref="RewardCommitOutcome.Duplicate"/> nothing is written. The unique keys on entry ids (per reward) and refund ids
    /// back the checks. Inside a store transaction (<see cref="RunInTransactionAsync{TState, TResult}"/>) the commit runs in that
    /// transaction without a savepoint of its own: it writes only once everything is checked, and should a write fail
    /// after that (an I/O error), the whole store transaction is rolled back when its work ends. A commit of one
    /// notification and nothing else (a capture's) is a single <c>INSERT ... ON CONFLICT (id) DO NOTHING</c>: the check
    /// and the write in one statement.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="commit"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// An entry is for an account the commit does not list, or the entry, decision or refund is for another program; an id,
    /// list or amount is <see langword="null"/> or the empty <see langword="default"/> value.
    /// </exception>
    public ValueTask<RewardCommitOutcome> TryCommitAsync(RewardCommit commit, CancellationToken cancellationToken = default)
    {
        var prepared = PrepareCommit(commit);
        cancellationToken.ThrowIfCancellationRequested();
        return WriteAsync(prepared, static async (session, c, ct) =>
        {
            if (c.Commit is { Notifications.Count: 1, Accounts.Count: 0, Entries.Count: 0, Decision: null, Refund: null, Attribution: null })
            {
                // One notification alone (a capture's): the insert that ignores an existing id is the check and the write
                // in one statement, atomic without a transaction of its own.
                var insert = session.Command(InsertNotificationSql + " ON CONFLICT (id) DO NOTHING;");
                NotificationParameters(insert.Parameters).Bind(c.Commit.Notifications[0]);
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1 ? RewardCommitOutcome.Committed : RewardCommitOutcome.Duplicate;
            }
            using var transaction = session.Begin(deferred: false, checksFirst: true);
            var outcome = await CheckCommitAsync(session, transaction, c.Commit, ct).ConfigureAwait(false);
            if (outcome != RewardCommitOutcome.Committed)
            {
                return outcome; // nothing was written
            }
            // The attribution first: its refusal (one statement) leaves nothing written, so nothing needs undoing.
            if (c.Commit.Attribution is { } attribution
                && !await UpsertAttributionAsync(session, transaction, attribution, c.AttributionDetail!, ct).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"No conversion with order id '{attribution.OrderId}' is recorded in program '{attribution.Program}'.");
            }
            transaction.Writing();
            await WriteCommitAsync(session, transaction, c, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return RewardCommitOutcome.Committed;
        }, cancellationToken);
    }

    /// <summary>
    /// Checks, inside the open write transaction and in one statement, what the in-memory store checks: every account's
    /// version and the decision's revision as expected (else <see cref="RewardCommitOutcome.Conflict"/>), then every
    /// entry id new to its reward, the refund id and every notification id new (else <see cref="RewardCommitOutcome.Duplicate"/>).
    /// </summary>
    private static async ValueTask<RewardCommitOutcome> CheckCommitAsync(SqliteSession session, SqliteWork transaction, RewardCommit commit, CancellationToken ct)
    {
        var shape = new CommitShape(commit.Accounts.Count, commit.Decision is not null, commit.Entries.Count, commit.Refund is not null, commit.Notifications.Count);
        var command = session.Command(CheckSql(shape), transaction);
        var p = command.Parameters;
        p.AddWithValue("$program", commit.Program.Value);
        for (int i = 0; i < shape.Accounts; i++)
        {
            p.AddWithValue(Name(AccountNames, i), commit.Accounts[i].Beneficiary.Value);
        }
        if (commit.Decision is { } decision)
        {
            p.AddWithValue("$order_id", decision.OrderId);
        }
        var entryIds = new HashSet<(string, string)>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        bool repeated = false;
        for (int i = 0; i < shape.Entries; i++)
        {
            var e = commit.Entries[i];
            p.AddWithValue(Name(EntryNames, i), e.EntryId);
            p.AddWithValue(Name(EntryRewardNames, i), e.RewardId);
            // Unique per reward: the same id in two rewards is two entries (the library's ids begin with the reward id).
            repeated |= !entryIds.Add((e.RewardId, e.EntryId));
        }
        if (commit.Refund is { } refund)
        {
            p.AddWithValue("$refund_id", refund.RefundId);
        }
        for (int i = 0; i < shape.Notifications; i++)
        {
            p.AddWithValue(Name(NotificationNames, i), commit.Notifications[i].Id);
            repeated |= !ids.Add(commit.Notifications[i].Id);
        }
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        int column = 1; // after the constant
        for (int i = 0; i < shape.Accounts; i++, column++)
        {
            long current = reader.IsDBNull(column) ? 0 : reader.GetInt64(column);
            if (current != commit.Accounts[i].ExpectedVersion)
            {
                return RewardCommitOutcome.Conflict;
            }
        }
        if (shape.Decision)
        {
            long current = reader.IsDBNull(column) ? 0 : reader.GetInt64(column);
            column++;
            if (current != commit.ExpectedDecisionRevision)
            {
                return RewardCommitOutcome.Conflict;
            }
        }
        if (repeated)
        {
            return RewardCommitOutcome.Duplicate; // an entry or notification id twice in this commit
        }
        for (; column < reader.FieldCount; column++)
        {
            if (reader.GetInt64(column) != 0)
            {
                return RewardCommitOutcome.Duplicate;
            }
        }
        return RewardCommitOutcome.Committed;
    }

    /// <summary>How many accounts, entries and notifications a commit lists, and whether it has a decision and a refund.</summary>
    internal readonly record struct CommitShape(int Accounts, bool Decision, int Entries, bool Refund, int Notifications);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<CommitShape, string> CheckSqlByShape = new();

    /// <summary>
    /// The check of <see cref="CheckCommitAsync"/> for commits of one shape: one row with a constant (so a commit that
    /// lists nothing is a valid statement too), then a column per listed account (its version, NULL when it has none), the decision's revision, then whether any entry (by reward and entry id), the refund or any
    /// notification exists already. Kept per shape (a handful in practice; commits listing more than 8 of anything
    /// build it each time).
    /// </summary>
    internal static string CheckSql(CommitShape shape)
    {
        if (CheckSqlByShape.TryGetValue(shape, out var cached))
        {
            return cached;
        }
        var sql = new System.Text.StringBuilder("SELECT 0");
        for (int i = 0; i < shape.Accounts; i++)
        {
            sql.Append(", (SELECT version FROM reward_accounts WHERE program = $program AND beneficiary = ").Append(Name(AccountNames, i)).Append(')');
        }
        if (shape.Decision)
        {
            sql.Append(", (SELECT revision FROM reward_decisions WHERE program = $program AND order_id = $order_id)");
        }
        if (shape.Entries > 0)
        {
            // The (reward, entry id) pairs as a VALUES list outside, each one look-up in the unique index by reward and
            // entry id inside (CROSS JOIN fixes that order; SQLite would scan the ledger for an OR of the pairs).
            sql.Append(", EXISTS (SELECT 1 FROM (VALUES ");
            for (int i = 0; i < shape.Entries; i++)
            {
                sql.Append(i == 0 ? "(" : ", (").Append(Name(EntryRewardNames, i)).Append(", ").Append(Name(EntryNames, i)).Append(')');
            }
            sql.Append(") AS v CROSS JOIN reward_entries x ON x.program = $program AND x.reward_id = v.column1 AND x.entry_id = v.column2)");
        }
        if (shape.Refund)
        {
            sql.Append(", EXISTS (SELECT 1 FROM refunds WHERE program = $program AND refund_id = $refund_id)");
        }
        AnyOf("pending_notifications WHERE id", NotificationNames, shape.Notifications);
        sql.Append(';');
        string text = sql.ToString();
        if (shape.Accounts <= 8 && shape.Entries <= 8 && shape.Notifications <= 8)
        {
            CheckSqlByShape.TryAdd(shape, text);
        }
        return text;

        // Whether any of count ids (parameters names[0], names[1], ...) is in the table: ", EXISTS (SELECT 1 FROM {rows} IN (...))".
        void AnyOf(string rows, string[] names, int count)
        {
            if (count > 0)
            {
                sql.Append(", EXISTS (SELECT 1 FROM ").Append(rows).Append(" IN (");
                sql.AppendJoin(", ", Enumerable.Range(0, count).Select(i => Name(names, i)));
                sql.Append("))");
            }
        }
    }

    // The check's parameter names ($a0, $e1, ...), made once for the first eight of each list: binding a commit's check
    // then allocates no name.
    private static readonly string[] AccountNames = ParameterNames("$a");
    private static readonly string[] EntryNames = ParameterNames("$e");
    private static readonly string[] EntryRewardNames = ParameterNames("$r");
    private static readonly string[] NotificationNames = ParameterNames("$n");

    private static string[] ParameterNames(string prefix) =>
        [.. Enumerable.Range(0, 8).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture))];

    /// <summary>Parameter <paramref name="i"/> of a list whose first eight names are <paramref name="names"/>.</summary>
    private static string Name(string[] names, int i) =>
        i < names.Length ? names[i] : string.Concat(names[0].AsSpan(0, 2), i.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Writes a checked commit inside the open write transaction: account versions, ledger entries (and the open rewards
    /// they open or close), the decision, the refund (and the fraud history's refunded order). Everything a commit writes
    /// goes through here, so a further part of the unit of work is one more step of this method.
    /// </summary>
    private static async ValueTask WriteCommitAsync(SqliteSession session, SqliteWork transaction, PreparedRewardCommit prepared, CancellationToken ct)
    {
        var commit = prepared.Commit;
        string program = commit.Program.Value;

        if (commit.Accounts.Count > 0)
        {
            // Checked above; an account listed twice counts twice, as in the in-memory store.
            var command = session.Command("""
                INSERT INTO reward_accounts (program, beneficiary, version) VALUES ($program, $beneficiary, 1)
                ON CONFLICT (program, beneficiary) DO UPDATE SET version = version + 1;
                """, transaction);
            command.Parameters.AddWithValue("$program", program);
            var beneficiary = command.Parameters.Add("$beneficiary", SqliteType.Text);
            foreach (var a in commit.Accounts)
            {
                beneficiary.Value = a.Beneficiary.Value;
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        for (int i = 0; i < commit.Entries.Count; i++)
        {
            var e = commit.Entries[i];
            long seq;
            {
                var command = session.Command("""
                    INSERT INTO reward_entries (program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms)
                    VALUES ($program, $entry_id, $reward_id, $beneficiary, $order_id, $type, $amount, $currency, $recorded_at, $actor, $reason, $reference, $terms)
                    RETURNING seq;
                    """, transaction);
                var p = command.Parameters;
                p.AddWithValue("$program", program);
                p.AddWithValue("$entry_id", e.EntryId);
                p.AddWithValue("$reward_id", e.RewardId);
                p.AddWithValue("$beneficiary", e.Beneficiary.Value);
                p.AddWithValue("$order_id", e.OrderId);
                p.AddWithValue("$type", (long)e.Type);
                p.AddWithValue("$amount", FormatAmount(e.Amount.Amount));
                p.AddWithValue("$currency", e.Amount.Currency);
                p.AddWithValue("$recorded_at", ToTicks(e.RecordedAt));
                p.AddWithValue("$actor", DbValue(e.Actor));
                p.AddWithValue("$reason", DbValue(e.Reason));
                p.AddWithValue("$reference", DbValue(e.Reference));
                p.AddWithValue("$terms", DbValue(prepared.Terms[i]));
                seq = (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }
            await TrackOpenRewardAsync(session, transaction, program, e, seq, ct).ConfigureAwait(false);
        }

        if (commit.Decision is { } d)
        {
            var command = session.Command(UpsertDecisionSql, transaction);
            var p = command.Parameters;
            p.AddWithValue("$program", program);
            p.AddWithValue("$order_id", d.OrderId);
            p.AddWithValue("$revision", (long)d.Revision);
            p.AddWithValue("$referrer", DbValue(d.Referrer?.Value));
            p.AddWithValue("$decided_at", ToTicks(d.DecidedAt));
            p.AddWithValue("$detail", prepared.DecisionDetail!);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        if (commit.Refund is { } refund)
        {
            {
                var command = session.Command("""
                    INSERT INTO refunds (program, refund_id, order_id, amount, currency, event_time, is_chargeback)
                    VALUES ($program, $refund_id, $order_id, $amount, $currency, $event_time, $is_chargeback);
                    """, transaction);
                var p = command.Parameters;
                p.AddWithValue("$program", program);
                p.AddWithValue("$refund_id", refund.RefundId);
                p.AddWithValue("$order_id", refund.OrderId);
                p.AddWithValue("$amount", FormatAmount(refund.Amount.Amount));
                p.AddWithValue("$currency", refund.Amount.Currency);
                p.AddWithValue("$event_time", ToTicks(refund.EventTime));
                p.AddWithValue("$is_chargeback", refund.IsChargeback ? 1L : 0L);
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await MarkRefundedAsync(session, transaction, program, refund.OrderId, ct).ConfigureAwait(false);
        }

        if (commit.Notifications.Count > 0)
        {
            var command = session.Command(InsertNotificationSql + ";", transaction);
            var parameters = NotificationParameters(command.Parameters);
            foreach (var n in commit.Notifications)
            {
                parameters.Bind(n);
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A refund from a row selecting <see cref="RefundColumns"/>.</summary>
    private static Refund ReadRefund(SqliteDataReader reader) => new()
    {
        Program = ReadProgramId(reader, 0, "refunds", "program"),
        OrderId = reader.GetString(1),
        RefundId = reader.GetString(2),
        Amount = ReadMoney(reader, 3, 4, "refunds"),
        EventTime = ToInstant(reader.GetInt64(5)),
        IsChargeback = reader.GetInt64(6) != 0,
    };

    private const string InsertNotificationSql = $"""
        INSERT INTO pending_notifications ({NotificationColumns})
        VALUES ($id, $kind, $program, $order_id, $entry_id, $reward_id, $touch_id, $recorded_at, $due_at, $attempts,
                $first_attempt_at, $last_attempt_at, $dead_lettered_at, $delivery)
        """;

    /// <summary>The parameters of a whole notification row, bound together.</summary>
    private readonly struct NotificationRow(
        SqliteParameter id,
        SqliteParameter kind,
        SqliteParameter program,
        SqliteParameter order,
        SqliteParameter entry,
        SqliteParameter reward,
        SqliteParameter touch,
        SqliteParameter recordedAt,
        DeliveryState state)
    {
        public void Bind(PendingNotification n)
        {
            id.Value = n.Id;
            kind.Value = (long)n.Kind;
            program.Value = n.Program.Value;
            order.Value = DbValue(n.OrderId);
            entry.Value = DbValue(n.EntryId);
            reward.Value = DbValue(n.RewardId);
            touch.Value = DbValue(n.TouchId);
            recordedAt.Value = ToTicks(n.RecordedAt);
            state.Bind(n);
        }
    }

    private static NotificationRow NotificationParameters(SqliteParameterCollection p) => new(
        p.Add("$id", SqliteType.Text),
        p.Add("$kind", SqliteType.Integer),
        p.Add("$program", SqliteType.Text),
        p.Add("$order_id", SqliteType.Text),
        p.Add("$entry_id", SqliteType.Text),
        p.Add("$reward_id", SqliteType.Text),
        p.Add("$touch_id", SqliteType.Text),
        p.Add("$recorded_at", SqliteType.Integer),
        DeliveryParameters(p));

    private const string NotificationColumns =
        "id, kind, program, order_id, entry_id, reward_id, touch_id, recorded_at, due_at, attempts, first_attempt_at, last_attempt_at, dead_lettered_at, delivery";

    // The look-ups of the outbox; the store tests check that each is a range of its partial index.
    internal const string DueNotificationsSql = $"""
        SELECT {NotificationColumns} FROM pending_notifications
        WHERE dead_lettered_at IS NULL AND due_at <= $now ORDER BY due_at, id LIMIT $limit;
        """;

    internal const string DeadLetteredNotificationsSql = $"""
        SELECT {NotificationColumns} FROM pending_notifications
        WHERE dead_lettered_at IS NOT NULL ORDER BY dead_lettered_at, id LIMIT $limit;
        """;

    /// <summary>The parameters of a notification's delivery state, bound together (an insert and an update write the same ones).</summary>
    private readonly struct DeliveryState(SqliteParameter due, SqliteParameter attempts, SqliteParameter first, SqliteParameter last, SqliteParameter dead, SqliteParameter delivery)
    {
        public void Bind(PendingNotification n)
        {
            due.Value = ToTicks(n.DueAt);
            attempts.Value = n.Attempts == 0 ? NoAttempts : (long)n.Attempts;
            first.Value = DbValue(n.FirstAttemptAt is { } f ? ToTicks(f) : null);
            last.Value = DbValue(n.LastAttemptAt is { } l ? ToTicks(l) : null);
            dead.Value = DbValue(n.DeadLetteredAt is { } d ? ToTicks(d) : null);
            delivery.Value = DbValue(DeliveryJson(n));
        }
    }

    // Boxed once: every new notification (the happy path) has no attempts.
    private static readonly object NoAttempts = 0L;

    private static DeliveryState DeliveryParameters(SqliteParameterCollection p) => new(
        p.Add("$due_at", SqliteType.Integer),
        p.Add("$attempts", SqliteType.Integer),
        p.Add("$first_attempt_at", SqliteType.Integer),
        p.Add("$last_attempt_at", SqliteType.Integer),
        p.Add("$dead_lettered_at", SqliteType.Integer),
        p.Add("$delivery", SqliteType.Text));

    /// <summary>The JSON of the delivery state's lists, or <see langword="null"/> while both are empty (no JSON on the happy path).</summary>
    private static string? DeliveryJson(PendingNotification n)
    {
        if (n.NotifiersTold.Count == 0 && n.Failures.Count == 0)
        {
            return null;
        }
        var failures = new NotifierFailureDetail[n.Failures.Count];
        for (int i = 0; i < failures.Length; i++)
        {
            failures[i] = new NotifierFailureDetail(n.Failures[i].Notifier, n.Failures[i].ErrorType);
        }
        return JsonSerializer.Serialize(
            new NotificationDeliveryDetail { Told = n.NotifiersTold.Count == 0 ? null : n.NotifiersTold, Failures = failures.Length == 0 ? null : failures },
            NotificationDetailJsonContext.Default.NotificationDeliveryDetail);
    }

    /// <summary>Reads a row selecting <see cref="NotificationColumns"/>.</summary>
    private static PendingNotification ReadNotification(SqliteDataReader reader)
    {
        IReadOnlyList<string> told = [];
        IReadOnlyList<NotifierFailure> failures = [];
        if (!reader.IsDBNull(13))
        {
            var json = reader.GetString(13);
            var detail = ReadJson(json, NotificationDetailJsonContext.Default.NotificationDeliveryDetail, "pending_notifications", "delivery");
            if (detail.Told?.Contains(null!) == true || detail.Failures?.Any(f => f is not { Notifier: not null, ErrorType: not null }) == true)
            {
                throw BadRow("pending_notifications", "delivery", Shorten(json));
            }
            told = detail.Told?.ToArray() ?? [];
            failures = detail.Failures?.Select(static f => new NotifierFailure(f.Notifier, f.ErrorType)).ToArray() ?? [];
        }
        return new PendingNotification
        {
            Id = reader.GetString(0),
            Kind = (NotificationKind)reader.GetInt32(1),
            Program = ReadProgramId(reader, 2, "pending_notifications", "program"),
            OrderId = GetNullableString(reader, 3),
            EntryId = GetNullableString(reader, 4),
            RewardId = GetNullableString(reader, 5),
            TouchId = GetNullableString(reader, 6),
            RecordedAt = ToInstant(reader.GetInt64(7)),
            DueAt = ToInstant(reader.GetInt64(8)),
            Attempts = reader.GetInt32(9),
            FirstAttemptAt = reader.IsDBNull(10) ? null : ToInstant(reader.GetInt64(10)),
            LastAttemptAt = reader.IsDBNull(11) ? null : ToInstant(reader.GetInt64(11)),
            DeadLetteredAt = reader.IsDBNull(12) ? null : ToInstant(reader.GetInt64(12)),
            NotifiersTold = told,
            Failures = failures,
        };
    }

    /// <inheritdoc />
    /// <remarks>One range of the partial index of the notifications still tried, by due instant.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        // A sub-tick instant, which no .NET clock produces, counts as its tick: due_at is stored in whole ticks.
        return ListNotificationsAsync(DueNotificationsSql, ToTicks(now), limit, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>One range of the partial index of the dead letters.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        return ListNotificationsAsync(DeadLetteredNotificationsSql, null, limit, cancellationToken);
    }

    private ValueTask<IReadOnlyList<PendingNotification>> ListNotificationsAsync(string sql, long? now, int limit, CancellationToken cancellationToken) =>
        ReadAsync((Sql: sql, Now: now, Limit: limit), static async (session, q, ct) =>
        {
            var command = session.Command(q.Sql);
            if (q.Now is { } now)
            {
                command.Parameters.AddWithValue("$now", now);
            }
            command.Parameters.AddWithValue("$limit", q.Limit);
            var list = new List<PendingNotification>();
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(ReadNotification(reader));
            }
            return (IReadOnlyList<PendingNotification>)list;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// One <c>BEGIN IMMEDIATE</c> transaction; each update is one <c>UPDATE ... WHERE id = $id AND due_at = $expected</c>,
    /// so the check and the write are one statement under the write lock.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="updates"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An update has no notification, or a notification with a null id or list.</exception>
    public ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var u in updates)
        {
            if (u.Notification is not { Id: not null, NotifiersTold: not null, Failures: not null } n || n.NotifiersTold.Contains(null!)
                || n.Failures.Any(static f => f.Notifier is null || f.ErrorType is null))
            {
                throw new ArgumentException("An update needs a notification with an id and lists of notifiers told and failures without nulls.", nameof(updates));
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (updates.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([]);
        }
        return WriteAsync(updates, static async (session, updates, ct) =>
        {
            using var transaction = session.Begin(deferred: false);
            var command = session.Command("""
                UPDATE pending_notifications SET
                    due_at = $due_at, attempts = $attempts, first_attempt_at = $first_attempt_at, last_attempt_at = $last_attempt_at,
                    dead_lettered_at = $dead_lettered_at, delivery = $delivery
                WHERE id = $id AND due_at = $expected;
                """, transaction);
            var id = command.Parameters.Add("$id", SqliteType.Text);
            var expected = command.Parameters.Add("$expected", SqliteType.Integer);
            var state = DeliveryParameters(command.Parameters);
            var written = new List<string>();
            foreach (var (n, expectedDue) in updates)
            {
                id.Value = n.Id;
                expected.Value = ToTicks(expectedDue);
                state.Bind(n);
                if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
                {
                    written.Add(n.Id);
                }
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return (IReadOnlyList<string>)written;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    public ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellationToken.ThrowIfCancellationRequested();
        if (ids.Count == 0)
        {
            return ValueTask.CompletedTask;
        }
        return new ValueTask(WriteAsync(ids, static async (session, ids, ct) =>
        {
            using var transaction = session.Begin(deferred: false);
            var command = session.Command("DELETE FROM pending_notifications WHERE id = $id;", transaction);
            var id = command.Parameters.Add("$id", SqliteType.Text);
            foreach (var value in ids)
            {
                id.Value = value ?? string.Empty;
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).AsTask());
    }

    /// <summary>
    /// Keeps <c>open_rewards</c> current after an entry is written: an Earned entry opens its reward (from this entry on);
    /// any other entry of an open reward closes it once the reward is no longer pending or approved.
    /// </summary>
    private static async ValueTask TrackOpenRewardAsync(SqliteSession session, SqliteWork transaction, string program, RewardEntry entry, long seq, CancellationToken ct)
    {
        SqliteCommand command;
        if (entry.Type == RewardEntryType.Earned)
        {
            command = Bind(session.Command("""
                INSERT INTO open_rewards (program, reward_id, from_seq) VALUES ($program, $reward_id, $seq)
                ON CONFLICT (program, reward_id) DO UPDATE SET from_seq = excluded.from_seq;
                """, transaction));
            command.Parameters.AddWithValue("$seq", seq);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return;
        }
        command = Bind(session.Command("""
            SELECT e.type, e.amount FROM open_rewards o
            CROSS JOIN reward_entries e ON e.program = o.program AND e.reward_id = o.reward_id AND e.seq >= o.from_seq
            WHERE o.program = $program AND o.reward_id = $reward_id
            ORDER BY e.seq;
            """, transaction));
        var entries = new List<(RewardEntryType Type, decimal Amount)>();
        using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                entries.Add(((RewardEntryType)reader.GetInt32(0), ParseAmount(reader.GetString(1), "reward_entries")));
            }
        }
        if (entries.Count == 0 || IsOpen(entries))
        {
            return; // not open (nothing to close), or still open
        }
        command = Bind(session.Command("DELETE FROM open_rewards WHERE program = $program AND reward_id = $reward_id;", transaction));
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

        SqliteCommand Bind(SqliteCommand c)
        {
            c.Parameters.AddWithValue("$program", program);
            c.Parameters.AddWithValue("$reward_id", entry.RewardId);
            return c;
        }
    }

    /// <summary>
    /// Whether a reward whose entries (oldest first, the first its Earned entry) these are is still pending or approved.
    /// The status rules of <see cref="Reward"/>'s fold, which the library keeps internal to Referrals.Core; the store
    /// contract tests hold both to the same open/closed results.
    /// </summary>
    private static bool IsOpen(List<(RewardEntryType Type, decimal Amount)> entries)
    {
        decimal net = entries[0].Amount;
        var status = RewardStatus.Pending;
        for (int i = 1; i < entries.Count; i++)
        {
            var (type, amount) = entries[i];
            net += amount;
            switch (type)
            {
                case RewardEntryType.Approved when status == RewardStatus.Pending:
                    status = RewardStatus.Approved;
                    break;
                case RewardEntryType.Fulfilled:
                    status = net > 0 ? RewardStatus.Fulfilled : RewardStatus.Revoked;
                    break;
                case RewardEntryType.Rejected:
                    status = RewardStatus.Rejected;
                    break;
                case RewardEntryType.Cancelled or RewardEntryType.Adjusted or RewardEntryType.ClawedBack when net <= 0 && status != RewardStatus.Rejected:
                    status = RewardStatus.Revoked;
                    break;
            }
        }
        return status is RewardStatus.Pending or RewardStatus.Approved;
    }

    /// <summary>
    /// The fraud history's refund bookkeeping, after a refund is written: marks the order refunded once its refunds cover
    /// the order's amount or one is a charge-back, if its conversion is recorded and it is not marked yet. The trigger on
    /// <c>refunded_orders</c> counts it for the referrer credited with the order.
    /// </summary>
    private static async ValueTask MarkRefundedAsync(SqliteSession session, SqliteWork transaction, string program, string orderId, CancellationToken ct)
    {
        var command = Bind(session.Command("""
            SELECT c.amount FROM conversions c
            WHERE c.program = $program AND c.order_id = $order_id
              AND NOT EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = $program AND r.order_id = $order_id);
            """, transaction));
        if (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string stored)
        {
            return;
        }
        decimal order = ParseAmount(stored, "conversions");
        decimal refunded = 0;
        bool chargeback = false;
        command = Bind(session.Command("SELECT amount, is_chargeback FROM refunds WHERE program = $program AND order_id = $order_id;", transaction));
        using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                chargeback |= reader.GetInt64(1) != 0;
                refunded += ParseAmount(reader.GetString(0), "refunds");
            }
        }
        if (!chargeback && refunded < order)
        {
            return;
        }
        command = Bind(session.Command("INSERT INTO refunded_orders (program, order_id) VALUES ($program, $order_id);", transaction));
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

        SqliteCommand Bind(SqliteCommand c)
        {
            c.Parameters.AddWithValue("$program", program);
            c.Parameters.AddWithValue("$order_id", orderId);
            return c;
        }
    }

    private ValueTask<IReadOnlyList<RewardEntry>> ListEntriesAsync(ProgramId program, string column, string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, column, key), static async (session, state, ct) =>
        {
            // column is one of two constants of this class, never input.
            var command = session.Command($"SELECT {EntryColumns} FROM reward_entries e WHERE e.program = $program AND {state.column} = $key ORDER BY e.seq;");
            command.Parameters.AddWithValue("$program", DbValue(state.program.Value));
            command.Parameters.AddWithValue("$key", DbValue(state.key));
            return (IReadOnlyList<RewardEntry>)await ReadEntriesAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Reads the rows of a query selecting <see cref="EntryColumns"/>.</summary>
    private static async ValueTask<List<RewardEntry>> ReadEntriesAsync(SqliteCommand command, CancellationToken ct)
    {
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await ReadEntriesAsync(reader, ct).ConfigureAwait(false);
    }

    /// <summary>Reads the rows of the reader's current result, which selects <see cref="EntryColumns"/>.</summary>
    private static async ValueTask<List<RewardEntry>> ReadEntriesAsync(SqliteDataReader reader, CancellationToken ct)
    {
        var entries = new List<RewardEntry>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            entries.Add(new RewardEntry
            {
                Program = ReadProgramId(reader, 0, "reward_entries", "program"),
                EntryId = reader.GetString(1),
                RewardId = reader.GetString(2),
                Beneficiary = ReadParticipantId(reader, 3, "reward_entries", "beneficiary"),
                OrderId = reader.GetString(4),
                Type = (RewardEntryType)reader.GetInt32(5),
                Amount = ReadMoney(reader, 6, 7, "reward_entries"),
                RecordedAt = ToInstant(reader.GetInt64(8)),
                Actor = GetNullableString(reader, 9),
                Reason = GetNullableString(reader, 10),
                Reference = GetNullableString(reader, 11),
                Terms = reader.IsDBNull(12) ? null : ReadTerms(reader.GetString(12)),
            });
        }
        return entries;
    }

    /// <summary>Reads the columns of <see cref="DecisionColumns"/>, at ordinals 0 to 5.</summary>
    private static RewardDecision ReadDecision(SqliteDataReader reader)
    {
        string json = reader.GetString(5);
        var detail = ReadJson(json, RewardDetailJsonContext.Default.RewardDecisionDetail, "reward_decisions", "detail");
        try
        {
            var skipped = new SkippedReward[detail.Skipped?.Count ?? 0];
            for (int i = 0; i < skipped.Length; i++)
            {
                var s = detail.Skipped![i];
                skipped[i] = new SkippedReward(s.Rule, new ParticipantId(s.Beneficiary), (RewardSkipReason)s.Reason, s.Detail);
            }
            return new RewardDecision
            {
                Program = ReadProgramId(reader, 0, "reward_decisions", "program"),
                OrderId = reader.GetString(1),
                Revision = reader.GetInt32(2),
                Referrer = reader.IsDBNull(3) ? null : ReadParticipantId(reader, 3, "reward_decisions", "referrer"),
                DecidedAt = ToInstant(reader.GetInt64(4)),
                Chain = (detail.Chain ?? []).Select(static id => new ParticipantId(id)).ToArray(),
                ReferralNumber = detail.ReferralNumber,
                Counted = detail.Counted,
                RewardIds = (detail.RewardIds ?? []).ToArray(),
                Skipped = skipped,
            };
        }
        catch (ArgumentException)
        {
            // A participant id in the detail that its constructor refuses.
            throw BadRow("reward_decisions", "detail", Shorten(json));
        }
    }

    private static RewardTerms ReadTerms(string json)
    {
        var t = ReadJson(json, RewardDetailJsonContext.Default.RewardTermsDetail, "reward_entries", "terms");
        return new RewardTerms
        {
            Role = (RewardRole)t.Role,
            Level = t.Level,
            Kind = (RewardKind)t.Kind,
            Item = t.Item,
            Rule = t.Rule,
            Tier = t.Tier,
            ReferralNumber = t.ReferralNumber,
            PercentOfOrder = t.PercentOfOrder,
            OrderAmount = ParseMoney(t.OrderAmount, t.OrderCurrency, "reward_entries"),
            Boosts = (t.Boosts ?? []).ToArray(),
            CappedBy = t.CappedBy,
            BeforeCap = ParseMoney(t.BeforeCap, t.BeforeCapCurrency, "reward_entries"),
            ConversionTime = ToInstant(t.ConversionTime),
            HoldUntil = ToInstant(t.HoldUntil),
            HeldForReview = t.HeldForReview,
        };
    }

    private static T ReadJson<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string table, string column)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw BadRow(table, column, Shorten(json));
        }
        catch (JsonException)
        {
            throw BadRow(table, column, Shorten(json));
        }
    }

    private static string Shorten(string text) => text.Length <= 100 ? text : text[..100] + "...";

    private static decimal ParseAmount(string amount, string table) =>
        decimal.TryParse(amount, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value)
            ? value
            : throw BadRow(table, "amount", amount);

    /// <summary>
    /// The argument checks of the in-memory store (entries for the commit's program and listed accounts), plus what a row
    /// cannot hold (<see langword="null"/> ids and lists, <see langword="default"/> values no constructor makes); and the
    /// JSON of the terms and the decision, made before the write gate is taken.
    /// </summary>
    private static PreparedRewardCommit PrepareCommit(RewardCommit? commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var program = commit.Program;
        if (program.Value is null)
        {
            throw new ArgumentException("The commit has the empty default program id.", nameof(commit));
        }
        if (commit.Accounts is null || commit.Entries is null)
        {
            throw new ArgumentException("The commit has a null account or entry list; use an empty list.", nameof(commit));
        }
        foreach (var a in commit.Accounts)
        {
            if (a.Beneficiary.Value is null)
            {
                throw new ArgumentException("The commit lists an account with the empty default participant id.", nameof(commit));
            }
        }
        var terms = new string?[commit.Entries.Count];
        for (int i = 0; i < terms.Length; i++)
        {
            var e = commit.Entries[i] ?? throw new ArgumentException($"The commit has a null entry at index {i}.", nameof(commit));
            if (e.EntryId is null || e.RewardId is null || e.OrderId is null)
            {
                throw new ArgumentException($"The commit's entry at index {i} has a null entry, reward or order id.", nameof(commit));
            }
            if (e.Program != program)
            {
                throw new ArgumentException($"Entry {e.EntryId} is for program {e.Program}, the commit for {program}.", nameof(commit));
            }
            if (!commit.Accounts.Any(a => a.Beneficiary == e.Beneficiary))
            {
                throw new ArgumentException($"Entry {e.EntryId} is for {e.Beneficiary}, whose account the commit does not list.", nameof(commit));
            }
            if (e.Amount.Currency.Length == 0)
            {
                throw new ArgumentException($"Entry {e.EntryId} has the default amount, without a currency.", nameof(commit));
            }
            if (e.Terms is { } t)
            {
                if (t.Rule is null || t.Tier is null || t.Boosts is null || t.Boosts.Contains(null!))
                {
                    throw new ArgumentException($"The terms of entry {e.EntryId} have a null rule, tier or boost list, or a null boost.", nameof(commit));
                }
                if (t.OrderAmount.Currency.Length == 0 || t.BeforeCap.Currency.Length == 0)
                {
                    throw new ArgumentException($"The terms of entry {e.EntryId} have a default amount, without a currency.", nameof(commit));
                }
                terms[i] = JsonSerializer.Serialize(
                    new RewardTermsDetail
                    {
                        Role = (int)t.Role,
                        Level = t.Level,
                        Kind = (int)t.Kind,
                        Item = t.Item,
                        Rule = t.Rule,
                        Tier = t.Tier,
                        ReferralNumber = t.ReferralNumber,
                        PercentOfOrder = t.PercentOfOrder,
                        OrderAmount = FormatAmount(t.OrderAmount.Amount),
                        OrderCurrency = t.OrderAmount.Currency,
                        Boosts = t.Boosts,
                        CappedBy = t.CappedBy,
                        BeforeCap = FormatAmount(t.BeforeCap.Amount),
                        BeforeCapCurrency = t.BeforeCap.Currency,
                        ConversionTime = ToTicks(t.ConversionTime),
                        HoldUntil = ToTicks(t.HoldUntil),
                        HeldForReview = t.HeldForReview,
                    },
                    RewardDetailJsonContext.Default.RewardTermsDetail);
            }
        }

        string? decisionDetail = null;
        if (commit.Decision is { } d)
        {
            if (d.OrderId is null || d.Program != program)
            {
                throw new ArgumentException($"The commit's decision (order '{d.OrderId}') has a null order id or is for program {d.Program}, the commit for {program}.", nameof(commit));
            }
            if (d.Referrer is { Value: null } || d.Chain is null || d.RewardIds is null || d.Skipped is null)
            {
                throw new ArgumentException($"The decision of order '{d.OrderId}' has the empty default referrer id, or a null chain, reward id or skipped list; use an empty list.", nameof(commit));
            }
            var skipped = new SkippedRewardDetail[d.Skipped.Count];
            for (int i = 0; i < skipped.Length; i++)
            {
                if (d.Skipped[i] is not { Rule: not null, Beneficiary.Value: not null, Detail: not null } s)
                {
                    throw new ArgumentException($"The decision of order '{d.OrderId}' has a null skipped reward, or one without rule, beneficiary or detail, at index {i}.", nameof(commit));
                }
                skipped[i] = new SkippedRewardDetail(s.Rule, s.Beneficiary.Value, (int)s.Reason, s.Detail);
            }
            var chain = new string[d.Chain.Count];
            for (int i = 0; i < chain.Length; i++)
            {
                chain[i] = d.Chain[i].Value ?? throw new ArgumentException($"The decision of order '{d.OrderId}' has the empty default participant id at chain index {i}.", nameof(commit));
            }
            if (d.RewardIds.Contains(null!))
            {
                throw new ArgumentException($"The decision of order '{d.OrderId}' has a null reward id.", nameof(commit));
            }
            decisionDetail = JsonSerializer.Serialize(
                new RewardDecisionDetail { Chain = chain, ReferralNumber = d.ReferralNumber, Counted = d.Counted, RewardIds = d.RewardIds, Skipped = skipped },
                RewardDetailJsonContext.Default.RewardDecisionDetail);
        }

        if (commit.Refund is { } r)
        {
            if (r.OrderId is null || r.RefundId is null || r.Program != program)
            {
                throw new ArgumentException($"The commit's refund ('{r.RefundId}') has a null order or refund id, or is for program {r.Program}, the commit for {program}.", nameof(commit));
            }
            if (r.Amount.Currency.Length == 0)
            {
                throw new ArgumentException($"Refund '{r.RefundId}' has the default amount, without a currency.", nameof(commit));
            }
        }
        if (commit.Notifications is null)
        {
            throw new ArgumentException("The commit has a null notification list; use an empty list.", nameof(commit));
        }
        foreach (var n in commit.Notifications)
        {
            if (n is null || n.Id is null || n.Program.Value is null || n.NotifiersTold is null || n.Failures is null
                || n.NotifiersTold.Contains(null!) || n.Failures.Any(static f => f.Notifier is null || f.ErrorType is null))
            {
                throw new ArgumentException(
                    "The commit has a null notification, or one with a null id, the empty default program id, or a null list or element in its delivery state.",
                    nameof(commit));
            }
        }
        string? attributionDetail = null;
        if (commit.Attribution is { } attribution)
        {
            CheckAttribution(attribution);
            attributionDetail = JsonSerializer.Serialize(ToDetail(attribution), AttributionDetailJsonContext.Default.AttributionDetail);
        }
        return new PreparedRewardCommit(commit, terms, decisionDetail, attributionDetail);
    }

    /// <summary>A checked commit with the JSON of its entries' terms (by entry index), of its decision and of its attribution.</summary>
    private sealed record PreparedRewardCommit(RewardCommit Commit, string?[] Terms, string? DecisionDetail, string? AttributionDetail);
}
