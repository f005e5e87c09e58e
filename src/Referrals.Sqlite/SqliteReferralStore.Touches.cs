using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : ITouchStore
{
    private const string TouchColumns = "id, program, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at";

    /// <inheritdoc />
    /// <remarks>
    /// Unique by <see cref="Touch.Id"/> across programs, as in the in-memory store: the primary key refuses the second
    /// insert and <c>ON CONFLICT DO NOTHING</c> turns that into <see langword="false"/>; the first touch recorded is kept.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="touch"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The touch's id is <see langword="null"/>, or its program, referrer, customer, code or contact is the empty
    /// <see langword="default"/> value (one no parser makes).
    /// </exception>
    public ValueTask<bool> TryAddTouchAsync(Touch touch, CancellationToken cancellationToken = default)
    {
        CheckTouch(touch);
        cancellationToken.ThrowIfCancellationRequested();
        return WriteAsync(touch, static async (session, t, ct) =>
        {
            var command = session.Command($"""
                INSERT INTO touches ({TouchColumns})
                VALUES ($id, $program, $kind, $referrer, $code, $medium, $visitor, $customer, $contact, $store_id, $register_id, $order_id, $event_time, $recorded_at)
                ON CONFLICT (id) DO NOTHING;
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
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A look-up of the primary key (touch ids are unique across programs); a touch of another program is not returned.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="touchId"/> is <see langword="null"/>.</exception>
    public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(touchId);
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, touchId), static async (session, q, ct) =>
        {
            var command = session.Command($"SELECT {TouchColumns} FROM touches WHERE id = $id AND program = $program;");
            command.Parameters.AddWithValue("$id", q.touchId);
            command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadTouch(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement (one snapshot): a union of the look-ups by customer, by visitor and by contact, each served by its
    /// index, so a touch naming several of them is returned once. Sorted here by event time, then id in .NET ordinal order
    /// (see <see cref="FindVisitorsAsync"/> for why not by <c>ORDER BY</c>).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="visitorIds"/> or <paramref name="contacts"/> is <see langword="null"/>.</exception>
    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(
        ProgramId program,
        ParticipantId customer,
        IReadOnlyList<string> visitorIds,
        IReadOnlyList<ContactHash> contacts,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitorIds);
        ArgumentNullException.ThrowIfNull(contacts);
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, customer, visitorIds, contacts), static async (session, q, ct) =>
        {
            // The text depends only on the numbers of visitor ids and contacts: a few shapes, each prepared once.
            var sql = new StringBuilder();
            sql.Append(CultureInfo.InvariantCulture, $"SELECT {TouchColumns} FROM touches WHERE program = $program AND customer = $customer");
            AppendInList(sql, "visitor", "$v", q.visitorIds.Count);
            AppendInList(sql, "contact", "$h", q.contacts.Count);
            sql.Append(';');
            var command = session.Command(sql.ToString());
            command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
            command.Parameters.AddWithValue("$customer", DbValue(q.customer.Value));
            BindInList(command, "$v", q.visitorIds, static v => v);
            // The default hash (no hasher makes it) names no touch: NULL, which equals nothing.
            BindInList(command, "$h", q.contacts, static h => h.Value.Length == 0 ? null : h.ToString());

            var touches = new List<Touch>();
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                touches.Add(ReadTouch(reader));
            }
            touches.Sort(static (a, b) => CompareByTime(a.EventTime, a.Id, b.EventTime, b.Id));
            return (IReadOnlyList<Touch>)touches;
        }, cancellationToken);

        // UNION (not UNION ALL) drops the second copy of a row, and a touch is one row: each touch once.
        static void AppendInList(StringBuilder sql, string column, string prefix, int count)
        {
            if (count == 0)
            {
                return;
            }
            sql.Append(CultureInfo.InvariantCulture, $" UNION SELECT {TouchColumns} FROM touches WHERE program = $program AND {column} IN (");
            for (int i = 0; i < count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append(prefix).Append(i);
            }
            sql.Append(')');
        }

        static void BindInList<T>(SqliteCommand command, string prefix, IReadOnlyList<T> values, Func<T, string?> storedForm)
        {
            for (int i = 0; i < values.Count; i++)
            {
                // A null visitor id names no touch, as in the in-memory store: NULL equals nothing.
                command.Parameters.AddWithValue(
                    string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}"),
                    DbValue(values[i] is { } v ? storedForm(v) : null));
            }
        }
    }

    private static void CheckTouch(Touch? touch)
    {
        ArgumentNullException.ThrowIfNull(touch);
        if (touch.Id is null)
        {
            throw new ArgumentException("The touch has a null id.", nameof(touch));
        }
        if (touch.Program.Value is null || touch.Referrer.Value is null || touch.Customer is { Value: null })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default program, referrer or customer id.", nameof(touch));
        }
        if (touch.Code is { Value.Length: 0 })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default code; make codes with ReferralCode.Parse or TryParse.", nameof(touch));
        }
        if (touch.Contact is { Value.Length: 0 })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default contact hash; make hashes with ContactHasher.", nameof(touch));
        }
    }

    private static Touch ReadTouch(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Program = ReadProgramId(reader, 1, "touches", "program"),
        Kind = (TouchKind)reader.GetInt32(2),
        Referrer = ReadParticipantId(reader, 3, "touches", "referrer"),
        Code = reader.IsDBNull(4) ? null : ReadReferralCode(reader, 4, "touches", "code"),
        Medium = (ShareMedium)reader.GetInt32(5),
        VisitorId = GetNullableString(reader, 6),
        Customer = reader.IsDBNull(7) ? null : ReadParticipantId(reader, 7, "touches", "customer"),
        Contact = reader.IsDBNull(8) ? null : ReadContact(reader, 8, "touches", "contact"),
        StoreId = GetNullableString(reader, 9),
        RegisterId = GetNullableString(reader, 10),
        OrderId = GetNullableString(reader, 11),
        EventTime = ToInstant(reader.GetInt64(12)),
        RecordedAt = ToInstant(reader.GetInt64(13)),
    };

    private static ReferralCode ReadReferralCode(SqliteDataReader reader, int ordinal, string table, string column)
    {
        string stored = reader.GetString(ordinal);
        // Folding is idempotent, so a normalised code parses to itself; anything else was not written by this store.
        if (!ReferralCode.TryParse(stored, out var code) || code.Value != stored)
        {
            throw BadRow(table, column, stored);
        }
        return code;
    }

    private static ContactHash ReadContact(SqliteDataReader reader, int ordinal, string table, string column)
    {
        string stored = reader.GetString(ordinal);
        return ContactHash.TryParse(stored, out var hash) ? hash : throw BadRow(table, column, stored);
    }
}
