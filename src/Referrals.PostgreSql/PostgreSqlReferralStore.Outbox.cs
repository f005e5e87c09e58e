using System.Text.Json;
using System.Text.Json.Serialization;
using NodaTime;
using Npgsql;
using NpgsqlTypes;
using Referrals.Notifications;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    private const string NotificationColumns =
        "id, kind, program, order_id, entry_id, reward_id, touch_id, recorded_at, due_at, attempts, first_attempt_at, last_attempt_at, dead_lettered_at, delivery";

    private const string InsertNotificationSql = $$"""
        INSERT INTO {s}.pending_notifications ({{NotificationColumns}})
        VALUES (@id, @kind, @program, @order_id, @entry_id, @reward_id, @touch_id, @recorded_at, @due_at, @attempts,
                @first_attempt_at, @last_attempt_at, @dead_lettered_at, @delivery)
        ON CONFLICT (id) DO NOTHING;
        """;

    // The look-ups of the outbox, each a range of its partial index (internal, for tests of their plans).
    internal const string DueNotificationsSql = $$"""
        SELECT {{NotificationColumns}} FROM {s}.pending_notifications
        WHERE dead_lettered_at IS NULL AND due_at <= @now ORDER BY due_at, id LIMIT @limit;
        """;

    internal const string DeadLetteredNotificationsSql = $$"""
        SELECT {{NotificationColumns}} FROM {s}.pending_notifications
        WHERE dead_lettered_at IS NOT NULL ORDER BY dead_lettered_at, id LIMIT @limit;
        """;

    private const string UpdateNotificationSql = """
        UPDATE {s}.pending_notifications SET
            due_at = @due_at, attempts = @attempts, first_attempt_at = @first_attempt_at, last_attempt_at = @last_attempt_at,
            dead_lettered_at = @dead_lettered_at, delivery = @delivery
        WHERE id = @id AND due_at = @expected;
        """;

    /// <summary>Binds every column of a notification row (<see cref="NotificationColumns"/>) by name.</summary>
    private static void BindNotification(NpgsqlParameterCollection p, PendingNotification n)
    {
        p.AddWithValue("id", n.Id);
        p.AddWithValue("kind", (int)n.Kind);
        p.AddWithValue("program", n.Program.Value);
        p.Add(Text("order_id", n.OrderId));
        p.Add(Text("entry_id", n.EntryId));
        p.Add(Text("reward_id", n.RewardId));
        p.Add(Text("touch_id", n.TouchId));
        p.AddWithValue("recorded_at", ToTicks(n.RecordedAt));
        BindDelivery(p, n);
    }

    /// <summary>Binds a notification's delivery state (what an insert and an update both write).</summary>
    private static void BindDelivery(NpgsqlParameterCollection p, PendingNotification n)
    {
        p.AddWithValue("due_at", ToTicks(n.DueAt));
        p.AddWithValue("attempts", n.Attempts);
        p.Add(Ticks("first_attempt_at", n.FirstAttemptAt));
        p.Add(Ticks("last_attempt_at", n.LastAttemptAt));
        p.Add(Ticks("dead_lettered_at", n.DeadLetteredAt));
        p.Add(Text("delivery", DeliveryJson(n)));
    }

    /// <summary>
    /// The JSON of the delivery state's lists (the SQLite store's format), or <see langword="null"/> while both are empty:
    /// no JSON on the happy path.
    /// </summary>
    private static string? DeliveryJson(PendingNotification n)
    {
        if (n.NotifiersTold.Count == 0 && n.Failures.Count == 0)
        {
            return null;
        }
        var failures = n.Failures.Select(static f => new NotifierFailureDetail(f.Notifier, f.ErrorType)).ToArray();
        return JsonSerializer.Serialize(
            new NotificationDeliveryDetail(n.NotifiersTold.Count == 0 ? null : n.NotifiersTold, failures.Length == 0 ? null : failures),
            NotificationDetailJsonContext.Default.NotificationDeliveryDetail);
    }

    /// <summary>A notification from a row selecting <see cref="NotificationColumns"/>.</summary>
    private static PendingNotification ReadNotification(NpgsqlDataReader reader)
    {
        IReadOnlyList<string> told = [];
        IReadOnlyList<NotifierFailure> failures = [];
        if (!reader.IsDBNull(13))
        {
            string json = reader.GetString(13);
            NotificationDeliveryDetail? detail;
            try
            {
                detail = JsonSerializer.Deserialize(json, NotificationDetailJsonContext.Default.NotificationDeliveryDetail);
            }
            catch (JsonException)
            {
                detail = null;
            }
            if (detail is null || detail.Told?.Contains(null!) == true || detail.Failures?.Any(static f => f is not { Notifier: not null, ErrorType: not null }) == true)
            {
                throw BadRow("pending_notifications", "delivery", json.Length <= 100 ? json : json[..100] + "...");
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
    private ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken) =>
        ListNotificationsAsync(DueNotificationsSql, ToTicks(now), limit, cancellationToken);

    /// <summary>The dead letters, oldest first: one range of the partial index of the dead letters.</summary>
    private ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken) =>
        ListNotificationsAsync(DeadLetteredNotificationsSql, null, limit, cancellationToken);

    private async ValueTask<IReadOnlyList<PendingNotification>> ListNotificationsAsync(string sql, long? now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        cancellationToken.ThrowIfCancellationRequested();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new PgDb(this, connection, null).Command(sql);
        if (now is { } n)
        {
            command.Parameters.AddWithValue("now", n);
        }
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, ReadNotification, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every update a compare-and-set on the due instant (<c>UPDATE … WHERE id = @id AND due_at = @expected</c>), all of
    /// them one batch: one round trip, one implicit transaction. Returns the ids written, in the order of the updates.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="updates"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An update has no notification, or a notification with a null id or list, or nulls in a list.</exception>
    private async ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken)
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
            return [];
        }
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var db = new PgDb(this, connection, null);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var (n, expectedDue) in updates)
        {
            var command = db.BatchCommand(UpdateNotificationSql);
            command.Parameters.AddWithValue("id", n.Id);
            command.Parameters.AddWithValue("expected", ToTicks(expectedDue));
            BindDelivery(command.Parameters, n);
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        var written = new List<string>();
        for (int i = 0; i < updates.Count; i++)
        {
            if (batch.BatchCommands[i].RecordsAffected == 1)
            {
                written.Add(updates[i].Notification.Id);
            }
        }
        return written;
    }

    /// <summary>Deletes the delivered notifications (unknown ids are ignored).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is <see langword="null"/>.</exception>
    private async ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        cancellationToken.ThrowIfCancellationRequested();
        if (ids.Count == 0)
        {
            return;
        }
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new PgDb(this, connection, null).Command("DELETE FROM {s}.pending_notifications WHERE id = ANY(@ids);");
        command.Parameters.Add(new NpgsqlParameter<string?[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = ids.ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The lists of a notification's delivery state: JSON in <c>pending_notifications.delivery</c>, NULL while both are empty.
    /// A stored format (the SQLite store's): names are never renamed, later versions add optional properties, a missing list
    /// reads as empty.
    /// </summary>
    private sealed record NotificationDeliveryDetail(IReadOnlyList<string>? Told, IReadOnlyList<NotifierFailureDetail>? Failures);

    /// <summary>One <see cref="NotifierFailure"/> of <see cref="NotificationDeliveryDetail"/>.</summary>
    private sealed record NotifierFailureDetail(string Notifier, string ErrorType);

    /// <summary>Source-generated serialisation of <see cref="NotificationDeliveryDetail"/> (no reflection; trimming and AOT keep working).</summary>
    [JsonSourceGenerationOptions(
        PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true)]
    [JsonSerializable(typeof(NotificationDeliveryDetail))]
    private sealed partial class NotificationDetailJsonContext : JsonSerializerContext;
}
