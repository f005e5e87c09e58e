using Microsoft.Data.Sqlite;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    /// <summary>Programmer errors of a unit, found before anything is written (so they never leave a savepoint open).</summary>
    private static void ValidateUnit(UnitOfWork unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        unit.ThrowIfInvalid();
    }

    /// <summary>
    /// Writes a unit's lists in their declared order inside the caller's savepoint; returns at the first row that stops
    /// it (the caller rolls the savepoint back). Every check is the database's: a unique key with <c>ON CONFLICT DO
    /// NOTHING</c> (no row changed: a duplicate) or a version in the <c>UPDATE</c>'s <c>WHERE</c> (no row changed: a
    /// conflict).
    /// </summary>
    private static async ValueTask<WriteOutcome> ApplyUnitAsync(SqliteSession db, UnitOfWork unit, CancellationToken ct)
    {
        var hours = new HourCounts();
        foreach (var read in unit.ReadSummaries)
        {
            var command = db.Command("SELECT version FROM summaries WHERE program = $program AND participant = $participant AND key = $key;");
            command.Parameters.AddWithValue("$program", read.Program.Value);
            command.Parameters.AddWithValue("$participant", read.Participant.Value);
            command.Parameters.AddWithValue("$key", read.Key);
            long stored = await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long v ? v : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Summary, read.Participant.Value + "/" + read.Key);
            }
        }
        foreach (var read in unit.ReadOrders)
        {
            var command = db.Command("SELECT version FROM conversions WHERE program = $program AND order_id = $order_id AND document IS NOT NULL;");
            command.Parameters.AddWithValue("$program", read.Conversion.Program.Value);
            command.Parameters.AddWithValue("$order_id", read.Conversion.OrderId);
            long stored = await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long v ? v : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Order, read.Conversion.OrderId);
            }
        }
        if (unit.Codes.Count > 0 && WriteCodes(db, unit.Codes, ct) is { } stopped)
        {
            return stopped;
        }
        foreach (var p in unit.Participants)
        {
            ct.ThrowIfCancellationRequested();
            var command = db.Command(UpsertParticipantSql);
            command.Parameters.AddWithValue("$id", p.Id.Value);
            command.Parameters.AddWithValue("$kind", (long)p.Kind);
            command.Parameters.AddWithValue("$masked_email", DbValue(p.MaskedEmail));
            command.Parameters.AddWithValue("$masked_phone", DbValue(p.MaskedPhone));
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await InsertListAsync(db, null, "participant_contacts", "contact", p.Id, p.Contacts, static c => c.ToString(), ct).ConfigureAwait(false);
            await InsertListAsync(db, null, "participant_fingerprints", "fingerprint", p.Id, p.Fingerprints, static f => f.ToString(), ct).ConfigureAwait(false);
        }
        foreach (var link in unit.VisitorLinks)
        {
            var command = db.Command("INSERT INTO visitor_links (participant, visitor) VALUES ($participant, $visitor) ON CONFLICT (participant, visitor) DO NOTHING;");
            command.Parameters.AddWithValue("$participant", link.Customer.Value);
            command.Parameters.AddWithValue("$visitor", link.Visitor);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        foreach (var t in unit.Touches)
        {
            ct.ThrowIfCancellationRequested();
            var command = db.Command($"""
                INSERT INTO program_touches ({TouchColumns})
                VALUES ($id, $program, $kind, $referrer, $code, $medium, $visitor, $customer, $contact, $store_id, $register_id, $order_id, $event_time, $recorded_at)
                ON CONFLICT (program, id) DO NOTHING;
                """);
            var p = command.Parameters;
            p.AddWithValue("$id", t.Id);
            p.AddWithValue("$program", t.Program.Value);
            p.AddWithValue("$kind", (long)t.Kind);
            p.AddWithValue("$referrer", t.Referrer.Value);
            p.AddWithValue("$code", DbValue(t.Code?.Value));
            p.AddWithValue("$medium", (long)t.Medium);
            p.AddWithValue("$visitor", DbValue(t.VisitorId));
            p.AddWithValue("$customer", DbValue(t.Customer?.Value));
            p.AddWithValue("$contact", DbValue(t.Contact?.ToString()));
            p.AddWithValue("$store_id", DbValue(t.StoreId));
            p.AddWithValue("$register_id", DbValue(t.RegisterId));
            p.AddWithValue("$order_id", DbValue(t.OrderId));
            p.AddWithValue("$event_time", ToTicks(t.EventTime));
            p.AddWithValue("$recorded_at", ToTicks(t.RecordedAt));
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Duplicate(RowKind.Touch, t.Id);
            }
            hours.Add(t.Program.Value, t.Referrer.Value, TouchHours, ToTicks(t.EventTime), 1);
        }
        foreach (var order in unit.Orders)
        {
            ct.ThrowIfCancellationRequested();
            if (await WriteOrderAsync(db, order, hours, ct).ConfigureAwait(false) is { } stop)
            {
                return stop;
            }
        }
        await hours.WriteAsync(db, ct).ConfigureAwait(false);
        foreach (var refund in unit.Refunds)
        {
            var command = db.Command("""
                INSERT INTO refunds (program, refund_id, order_id, amount, currency, event_time, is_chargeback)
                VALUES ($program, $refund_id, $order_id, $amount, $currency, $event_time, $is_chargeback)
                ON CONFLICT (program, refund_id) DO NOTHING;
                """);
            var p = command.Parameters;
            p.AddWithValue("$program", refund.Program.Value);
            p.AddWithValue("$refund_id", refund.RefundId);
            p.AddWithValue("$order_id", refund.OrderId);
            p.AddWithValue("$amount", FormatAmount(refund.Amount.Amount));
            p.AddWithValue("$currency", refund.Amount.Currency);
            p.AddWithValue("$event_time", ToTicks(refund.EventTime));
            p.AddWithValue("$is_chargeback", refund.IsChargeback ? 1L : 0L);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Duplicate(RowKind.Refund, refund.RefundId);
            }
        }
        foreach (var entry in unit.Entries)
        {
            var command = db.Command("""
                INSERT INTO ledger (program, reward_id, entry_id, recorded_at, document)
                VALUES ($program, $reward_id, $entry_id, $recorded_at, $document)
                ON CONFLICT (program, reward_id, entry_id) DO NOTHING;
                """);
            var p = command.Parameters;
            p.AddWithValue("$program", entry.Program.Value);
            p.AddWithValue("$reward_id", entry.RewardId);
            p.AddWithValue("$entry_id", entry.EntryId);
            p.AddWithValue("$recorded_at", ToTicks(entry.RecordedAt));
            p.AddWithValue("$document", entry.Document);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Duplicate(RowKind.Entry, entry.RewardId + "/" + entry.EntryId);
            }
        }
        foreach (var reward in unit.Rewards)
        {
            var command = db.Command(reward.Version == 1
                ? $"""
                  INSERT INTO rewards ({RewardColumns})
                  VALUES ($program, $reward_id, $beneficiary, $order_id, $conversion_time, $version, $due, $due_at, $document)
                  ON CONFLICT (program, reward_id) DO NOTHING;
                  """
                : """
                  UPDATE rewards SET beneficiary = $beneficiary, order_id = $order_id, conversion_time = $conversion_time,
                      version = $version, due = $due, due_at = $due_at, document = $document
                  WHERE program = $program AND reward_id = $reward_id AND version = $version - 1;
                  """);
            var p = command.Parameters;
            p.AddWithValue("$program", reward.Program.Value);
            p.AddWithValue("$reward_id", reward.RewardId);
            p.AddWithValue("$beneficiary", reward.Beneficiary.Value);
            p.AddWithValue("$order_id", reward.OrderId);
            p.AddWithValue("$conversion_time", ToTicks(reward.ConversionTime));
            p.AddWithValue("$version", reward.Version);
            p.AddWithValue("$due", DbValue(reward.Due is { } due ? (long)due : null));
            p.AddWithValue("$due_at", DbValue(reward.DueAt is { } at ? ToTicks(at) : null));
            p.AddWithValue("$document", reward.Document);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Conflict(RowKind.Reward, reward.RewardId);
            }
        }
        foreach (var summary in unit.Summaries)
        {
            var command = db.Command(summary.Version == 1
                ? """
                  INSERT INTO summaries (program, participant, key, version, document) VALUES ($program, $participant, $key, $version, $document)
                  ON CONFLICT (program, participant, key) DO NOTHING;
                  """
                : """
                  UPDATE summaries SET version = $version, document = $document
                  WHERE program = $program AND participant = $participant AND key = $key AND version = $version - 1;
                  """);
            var p = command.Parameters;
            p.AddWithValue("$program", summary.Program.Value);
            p.AddWithValue("$participant", summary.Participant.Value);
            p.AddWithValue("$key", summary.Key);
            p.AddWithValue("$version", summary.Version);
            p.AddWithValue("$document", summary.Document);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Conflict(RowKind.Summary, summary.Participant.Value + "/" + summary.Key);
            }
        }
        if (unit.Notifications.Count > 0)
        {
            var command = db.Command(InsertNotificationSql + " ON CONFLICT (id) DO NOTHING;");
            var parameters = NotificationParameters(command.Parameters);
            foreach (var n in unit.Notifications)
            {
                parameters.Bind(n);
                if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    return WriteOutcome.Duplicate(RowKind.Notification, n.Id);
                }
            }
        }
        if (unit.RebuiltPrograms.Count > 0)
        {
            var command = db.Command("DELETE FROM pending_rebuilds WHERE program = $program;");
            var program = command.Parameters.Add("$program", SqliteType.Text);
            foreach (var rebuilt in unit.RebuiltPrograms)
            {
                program.Value = rebuilt.Value;
                if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    return WriteOutcome.Duplicate(RowKind.Rebuild, rebuilt.Value);
                }
            }
        }
        foreach (var erasure in unit.Erasures)
        {
            ct.ThrowIfCancellationRequested();
            if (await EraseAsync(db, erasure, ct).ConfigureAwait(false) is { } stop)
            {
                return stop;
            }
        }
        return WriteOutcome.Written;
    }

    private const string UpsertParticipantSql = """
        INSERT INTO participants (id, kind, masked_email, masked_phone)
        VALUES ($id, $kind, $masked_email, $masked_phone)
        ON CONFLICT (id) DO UPDATE SET
            kind = excluded.kind, masked_email = excluded.masked_email, masked_phone = excluded.masked_phone;
        DELETE FROM participant_contacts WHERE participant = $id;
        DELETE FROM participant_fingerprints WHERE participant = $id;
        """;

    private static async ValueTask<WriteOutcome?> WriteOrderAsync(SqliteSession db, OrderRow order, HourCounts hours, CancellationToken ct)
    {
        var c = order.Conversion;
        if (order.Version > 1)
        {
            // Core writes the same conversion in every version: only what it decided changes. The credited referrer it
            // had is read first, for the hour counts (a re-decision that moves the credit moves the order's count).
            var before = db.Command("""
                SELECT credited_referrer, event_time FROM conversions
                WHERE program = $program AND order_id = $order_id AND version = $version - 1 AND document IS NOT NULL;
                """);
            before.Parameters.AddWithValue("$program", c.Program.Value);
            before.Parameters.AddWithValue("$order_id", c.OrderId);
            before.Parameters.AddWithValue("$version", order.Version);
            string? was = null;
            long time = 0;
            bool found = false;
            using (var reader = await before.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    found = true;
                    was = reader.IsDBNull(0) ? null : reader.GetString(0);
                    time = reader.GetInt64(1);
                }
            }
            if (!found)
            {
                return WriteOutcome.Conflict(RowKind.Order, c.OrderId);
            }
            var update = db.Command("""
                UPDATE conversions SET version = $version, document = $document, credited_referrer = $credited_referrer,
                    credited_code = $credited_code, counted_referrer = $counted_referrer
                WHERE program = $program AND order_id = $order_id AND version = $version - 1 AND document IS NOT NULL;
                """);
            BindOrder(update.Parameters, order);
            if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return WriteOutcome.Conflict(RowKind.Order, c.OrderId);
            }
            string? now = order.CreditedReferrer?.Value;
            if (!string.Equals(was, now, StringComparison.Ordinal))
            {
                if (was is not null)
                {
                    hours.Add(c.Program.Value, was, CreditedHours, time, -1);
                }
                if (now is not null)
                {
                    hours.Add(c.Program.Value, now, CreditedHours, time, 1);
                }
            }
            return null;
        }
        var command = db.Command("""
            INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, store_id, visitor, is_new_customer, presented_code, register_id,
                                     version, document, credited_referrer, credited_code, counted_referrer)
            VALUES ($program, $order_id, $customer, $amount, $currency, $event_time, $channel, $store_id, $visitor, $is_new_customer, $presented_code, $register_id,
                    $version, $document, $credited_referrer, $credited_code, $counted_referrer)
            ON CONFLICT (program, order_id) DO NOTHING;
            """);
        var p = command.Parameters;
        BindOrder(p, order);
        p.AddWithValue("$customer", c.Customer.Value);
        p.AddWithValue("$amount", FormatAmount(c.Amount.Amount));
        p.AddWithValue("$currency", c.Amount.Currency);
        p.AddWithValue("$event_time", ToTicks(c.EventTime));
        p.AddWithValue("$channel", (long)c.Channel);
        p.AddWithValue("$store_id", DbValue(c.StoreId));
        p.AddWithValue("$visitor", DbValue(c.VisitorId));
        p.AddWithValue("$is_new_customer", DbValue(c.IsNewCustomer is { } n ? (n ? 1L : 0L) : null));
        p.AddWithValue("$presented_code", DbValue(c.PresentedCode));
        p.AddWithValue("$register_id", DbValue(c.RegisterId));
        if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
        {
            return WriteOutcome.Duplicate(RowKind.Order, c.OrderId);
        }
        if (order.CreditedReferrer is { } credited)
        {
            hours.Add(c.Program.Value, credited.Value, CreditedHours, ToTicks(c.EventTime), 1);
        }
        if (c.Contacts.Count > 0)
        {
            var insert = db.Command("INSERT INTO conversion_contacts (program, order_id, ordinal, contact) VALUES ($program, $order_id, $ordinal, $contact);");
            insert.Parameters.AddWithValue("$program", c.Program.Value);
            insert.Parameters.AddWithValue("$order_id", c.OrderId);
            var ordinal = insert.Parameters.Add("$ordinal", SqliteType.Integer);
            var contact = insert.Parameters.Add("$contact", SqliteType.Text);
            for (int i = 0; i < c.Contacts.Count; i++)
            {
                ordinal.Value = (long)i;
                contact.Value = c.Contacts[i].ToString();
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        if (c.Fingerprints.Count > 0)
        {
            var insert = db.Command("""
                INSERT INTO conversion_fingerprints (program, order_id, ordinal, fingerprint, customer, event_time)
                VALUES ($program, $order_id, $ordinal, $fingerprint, $customer, $event_time);
                """);
            insert.Parameters.AddWithValue("$program", c.Program.Value);
            insert.Parameters.AddWithValue("$order_id", c.OrderId);
            insert.Parameters.AddWithValue("$customer", c.Customer.Value);
            insert.Parameters.AddWithValue("$event_time", ToTicks(c.EventTime));
            var ordinal = insert.Parameters.Add("$ordinal", SqliteType.Integer);
            var fingerprint = insert.Parameters.Add("$fingerprint", SqliteType.Text);
            for (int i = 0; i < c.Fingerprints.Count; i++)
            {
                ordinal.Value = (long)i;
                fingerprint.Value = c.Fingerprints[i].ToString();
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        return null;
    }

    // referrer_hours' kinds (schema version 12).
    internal const long TouchHours = 0;
    internal const long CreditedHours = 1;

    /// <summary>The UTC hour an event time falls in (floor of the ticks by an hour's, as the version-12 migration computes it).</summary>
    internal static long HourOf(long ticks)
    {
        long hour = Math.DivRem(ticks, TicksPerHour, out long rest);
        return rest < 0 ? hour - 1 : hour;
    }

    internal const long TicksPerHour = 36_000_000_000;

    /// <summary>
    /// What a unit's touches and orders add to the hour counts (<c>referrer_hours</c>), gathered while they are written
    /// and written after them in one statement (per 200 hours): a conversion's touch and credited order are usually the
    /// same referrer's in the same hour, one row.
    /// </summary>
    private sealed class HourCounts
    {
        private const int PerStatement = 200;
        private const int MergeWithin = 16;
        // Parameter names of the upsert's rows ($p0, $r0, … $d199), made once.
        private static readonly string[][] Names = [.. Enumerable.Range(0, PerStatement).Select(static i =>
            new[] { "$p", "$r", "$k", "$h", "$d" }.Select(n => n + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray())];

        // Made on the first count: most units (reward passes, notifications) write no touch and no order.
        private List<(string Program, string Referrer, long Kind, long Hour, long Delta)>? _list;

        private List<(string Program, string Referrer, long Kind, long Hour, long Delta)> Counts => _list ??= [];

        public void Add(string program, string referrer, long kind, long ticks, long delta)
        {
            long hour = HourOf(ticks);
            // Merged with an equal hour among the first few only (a bulk unit stays linear): the upsert adds up rows of
            // the same key within one statement as well.
            for (int i = 0; i < Math.Min(Counts.Count, MergeWithin); i++)
            {
                var c = Counts[i];
                if (c.Kind == kind && c.Hour == hour && string.Equals(c.Referrer, referrer, StringComparison.Ordinal) && string.Equals(c.Program, program, StringComparison.Ordinal))
                {
                    Counts[i] = c with { Delta = c.Delta + delta };
                    return;
                }
            }
            Counts.Add((program, referrer, kind, hour, delta));
        }

        public async ValueTask WriteAsync(SqliteSession db, CancellationToken ct)
        {
            if (_list is not { } counts)
            {
                return;
            }
            for (int at = 0; at < counts.Count; at += PerStatement)
            {
                int n = Math.Min(PerStatement, counts.Count - at);
                var command = db.Command(UpsertSql(n));
                for (int i = 0; i < n; i++)
                {
                    var c = counts[at + i];
                    var names = Names[i];
                    command.Parameters.AddWithValue(names[0], c.Program);
                    command.Parameters.AddWithValue(names[1], c.Referrer);
                    command.Parameters.AddWithValue(names[2], c.Kind);
                    command.Parameters.AddWithValue(names[3], c.Hour);
                    command.Parameters.AddWithValue(names[4], c.Delta);
                }
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        private static readonly string[] Upserts = new string[3];

        private static string UpsertSql(int n)
        {
            if (n < Upserts.Length && Upserts[n] is { } cached)
            {
                return cached;
            }
            var sql = new System.Text.StringBuilder("INSERT INTO referrer_hours (program, referrer, kind, hour, count) VALUES ");
            for (int i = 0; i < n; i++)
            {
                sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ", ")}($p{i}, $r{i}, $k{i}, $h{i}, $d{i})");
            }
            sql.Append(" ON CONFLICT (program, referrer, kind, hour) DO UPDATE SET count = count + excluded.count;");
            string text = sql.ToString();
            if (n < Upserts.Length)
            {
                Upserts[n] = text;
            }
            return text;
        }
    }

    private static void BindOrder(SqliteParameterCollection p, OrderRow order)
    {
        p.AddWithValue("$program", order.Conversion.Program.Value);
        p.AddWithValue("$order_id", order.Conversion.OrderId);
        p.AddWithValue("$version", order.Version);
        p.AddWithValue("$document", order.Document);
        p.AddWithValue("$credited_referrer", DbValue(order.CreditedReferrer?.Value));
        p.AddWithValue("$credited_code", DbValue(order.CreditedCode?.Value));
        p.AddWithValue("$counted_referrer", DbValue(order.CountedReferrer?.Value));
    }

    /// <summary>
    /// An erasure (see <see cref="UnitOfWork.Erasures"/>), with <c>PRAGMA secure_delete</c> on for its statements: SQLite
    /// then overwrites the bytes it frees with zeros instead of leaving them in the page's free space, so the erased values
    /// are gone from the database file (and from its log once the log is copied and started over).
    /// </summary>
    /// <remarks>
    /// Touches and orders are found through the indexes that lead with the program: the programs are listed by a skip
    /// through each table's key (one probe per program), then each program's index ranges are read.
    /// </remarks>
    private static async ValueTask<WriteOutcome?> EraseAsync(SqliteSession db, ParticipantErasure erasure, CancellationToken ct)
    {
        var audit = db.Command("""
            INSERT INTO erasures (erasure_id, participant, at, actor, reason) VALUES ($erasure_id, $participant, $at, $actor, $reason)
            ON CONFLICT (erasure_id) DO NOTHING;
            """);
        audit.Parameters.AddWithValue("$erasure_id", erasure.ErasureId);
        audit.Parameters.AddWithValue("$participant", erasure.Participant.Value);
        audit.Parameters.AddWithValue("$at", ToTicks(erasure.At));
        audit.Parameters.AddWithValue("$actor", erasure.Actor);
        audit.Parameters.AddWithValue("$reason", erasure.Reason);
        if (await audit.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
        {
            return WriteOutcome.Duplicate(RowKind.Erasure, erasure.ErasureId);
        }
        string id = erasure.Participant.Value;
        db.Command("PRAGMA secure_delete = ON;").ExecuteNonQuery();
        try
        {
            var visitors = await VisitorsOfAsync(db, erasure.Participant, ct).ConfigureAwait(false);
            var contacts = new List<string>();
            var command = db.Command("SELECT contact FROM participant_contacts WHERE participant = $participant;");
            command.Parameters.AddWithValue("$participant", id);
            using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    contacts.Add(reader.GetString(0));
                }
            }

            foreach (var program in await ProgramsAsync(db, "program_touches", ct).ConfigureAwait(false))
            {
                await ScrubTouchesAsync(db, "customer", program, id, ct).ConfigureAwait(false);
                foreach (var visitor in visitors)
                {
                    await ScrubTouchesAsync(db, "visitor", program, visitor, ct).ConfigureAwait(false);
                }
                foreach (var contact in contacts)
                {
                    await ScrubTouchesAsync(db, "contact", program, contact, ct).ConfigureAwait(false);
                }
            }

            foreach (var program in await ProgramsAsync(db, "conversions", ct).ConfigureAwait(false))
            {
                var orders = new List<string>();
                command = db.Command("SELECT order_id FROM conversions INDEXED BY conversions_by_customer WHERE program = $program AND customer = $customer;");
                command.Parameters.AddWithValue("$program", program);
                command.Parameters.AddWithValue("$customer", id);
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        orders.Add(reader.GetString(0));
                    }
                }
                foreach (var orderId in orders)
                {
                    // The version moves on when something was cleared, so a session that read the order before cannot
                    // write it back with the values erased.
                    command = db.Command("""
                        DELETE FROM conversion_contacts WHERE program = $program AND order_id = $order_id;
                        DELETE FROM conversion_fingerprints WHERE program = $program AND order_id = $order_id;
                        """);
                    command.Parameters.AddWithValue("$program", program);
                    command.Parameters.AddWithValue("$order_id", orderId);
                    int cleared = await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    command = db.Command("""
                        UPDATE conversions SET visitor = NULL, version = version + 1
                        WHERE program = $program AND order_id = $order_id AND (visitor IS NOT NULL OR $cleared);
                        """);
                    command.Parameters.AddWithValue("$program", program);
                    command.Parameters.AddWithValue("$order_id", orderId);
                    command.Parameters.AddWithValue("$cleared", cleared > 0 ? 1L : 0L);
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }

            command = db.Command("""
                DELETE FROM visitor_links WHERE participant = $participant;
                DELETE FROM participant_contacts WHERE participant = $participant;
                DELETE FROM participant_fingerprints WHERE participant = $participant;
                DELETE FROM participants WHERE id = $participant;
                """);
            command.Parameters.AddWithValue("$participant", id);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            db.Command("PRAGMA secure_delete = OFF;").ExecuteNonQuery();
        }
        return null;
    }

    /// <summary>The programs of a table whose key leads with the program: one probe of the key per program.</summary>
    private static async ValueTask<List<string>> ProgramsAsync(SqliteSession db, string table, CancellationToken ct)
    {
        // table is a constant of this class, never input.
        var command = db.Command($"SELECT min(program) FROM {table} WHERE program > $after;");
        var after = command.Parameters.Add("$after", SqliteType.Text);
        after.Value = string.Empty;
        var programs = new List<string>();
        while (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is string program)
        {
            programs.Add(program);
            after.Value = program;
        }
        return programs;
    }

    private static async ValueTask ScrubTouchesAsync(SqliteSession db, string column, string program, string key, CancellationToken ct)
    {
        // column is a constant of this class, never input; the table has an index by program and each such column.
        var command = db.Command($"""
            UPDATE program_touches SET visitor = NULL, contact = NULL
            WHERE (program, id) IN (SELECT program, id FROM program_touches INDEXED BY program_touches_by_{column} WHERE program = $program AND {column} = $key)
              AND (visitor IS NOT NULL OR contact IS NOT NULL);
            """);
        command.Parameters.AddWithValue("$program", program);
        command.Parameters.AddWithValue("$key", key);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
