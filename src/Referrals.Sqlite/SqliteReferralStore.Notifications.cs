using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    private const string RefundColumns = "f.program, f.order_id, f.refund_id, f.amount, f.currency, f.event_time, f.is_chargeback";

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
        return new PendingNotification(
            id: reader.GetString(0),
            kind: (NotificationKind)reader.GetInt32(1),
            program: ReadProgramId(reader, 2, "pending_notifications", "program"),
            orderId: GetNullableString(reader, 3),
            entryId: GetNullableString(reader, 4),
            rewardId: GetNullableString(reader, 5),
            touchId: GetNullableString(reader, 6),
            recordedAt: ToInstant(reader.GetInt64(7)),
            dueAt: ToInstant(reader.GetInt64(8)),
            attempts: reader.GetInt32(9),
            firstAttemptAt: reader.IsDBNull(10) ? null : ToInstant(reader.GetInt64(10)),
            lastAttemptAt: reader.IsDBNull(11) ? null : ToInstant(reader.GetInt64(11)),
            notifiersTold: told,
            failures: failures,
            deadLetteredAt: reader.IsDBNull(12) ? null : ToInstant(reader.GetInt64(12)));
    }

    /// <summary>The notifications due at <paramref name="now"/>: one range of the partial index of those still tried, by due instant.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    private ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        // A sub-tick instant, which no .NET clock produces, counts as its tick: due_at is stored in whole ticks.
        return ListNotificationsAsync(DueNotificationsSql, ToTicks(now), limit, cancellationToken);
    }

    /// <summary>The dead letters, oldest first: one range of the partial index of the dead letters.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    private ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken)
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
    private ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken)
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
    private ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
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
}
