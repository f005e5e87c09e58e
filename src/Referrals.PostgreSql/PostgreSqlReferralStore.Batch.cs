using NodaTime;
using Npgsql;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    /// <summary>
    /// The reads Core may ask for together (<see cref="IBatchReader"/>: the order, the customer, their visitor links and
    /// summaries, the order's refunds; a referrer with their summary and the fraud checks' day counts): each one's statements go into one <see cref="NpgsqlBatch"/> (one round trip),
    /// and each one's answer is read from its result sets in order. A read asked for alone is a batch of one, so both
    /// ways run the same statements and row readers.
    /// </summary>
    private static async ValueTask RunReadsAsync(PgDb db, IReadOnlyList<StoreRead> reads, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(db.Connection, db.Transaction);
        var sets = new int[reads.Count];
        for (int i = 0; i < reads.Count; i++)
        {
            sets[i] = AddRead(db, batch, reads[i]);
        }
        if (batch.BatchCommands.Count == 0)
        {
            return;
        }
        bool prelude = db.Transaction is not null && !db.GenericPlans;
        if (prelude)
        {
            batch.BatchCommands.Insert(0, new NpgsqlBatchCommand(GenericPlansSql));
        }
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (prelude)
        {
            db.GenericPlans = true;
            await reader.NextResultAsync(ct).ConfigureAwait(false);
        }
        bool first = true;
        for (int i = 0; i < reads.Count; i++)
        {
            for (int set = 0; set < sets[i]; set++)
            {
                if (!first)
                {
                    await reader.NextResultAsync(ct).ConfigureAwait(false);
                }
                first = false;
                if (set == sets[i] - 1)
                {
                    await ReadResultAsync(reader, reads[i], ct).ConfigureAwait(false);
                }
            }
        }
        await reader.DisposeAsync().ConfigureAwait(false);
        await CountBusyWindowsAsync(db, reads, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The counts of <paramref name="reads"/> whose walk met its bound — windows holding more rows than a walk should visit
    /// — counted again by their hours (<see cref="CountByHoursSql"/>), together: one more round trip, for a busy referrer only.
    /// </summary>
    private static async ValueTask CountBusyWindowsAsync(PgDb db, IReadOnlyList<StoreRead> reads, CancellationToken ct)
    {
        List<CountRead>? busy = null;
        foreach (var read in reads)
        {
            if (read is CountRead count && count.Until > count.From && CountWindow.Of(count.From, count.Until, count.Limit).NeedsHours(count.Result))
            {
                (busy ??= []).Add(count);
            }
        }
        if (busy is null)
        {
            return;
        }
        await using var batch = new NpgsqlBatch(db.Connection, db.Transaction);
        foreach (var count in busy)
        {
            var command = db.BatchCommand(count.Kind == CountKind.Touches ? CountTouchesByHoursSql : CountCreditedOrdersByHoursSql);
            CountWindow.Of(count.From, count.Until, count.Limit).Bind(command.Parameters, count.Program, count.Referrer.Value, hours: true);
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
        for (int i = 0; i < busy.Count; i++)
        {
            if (i > 0)
            {
                await reader.NextResultAsync(ct).ConfigureAwait(false);
            }
            await reader.ReadAsync(ct).ConfigureAwait(false);
            busy[i].Result = checked((int)reader.GetInt64(0));
        }
    }

    /// <summary>Adds a read's statements to the batch; returns how many result sets they give (its rows are the last one's).</summary>
    private static int AddRead(PgDb db, NpgsqlBatch batch, StoreRead read)
    {
        NpgsqlBatchCommand Add(string template)
        {
            var command = db.BatchCommand(template);
            batch.BatchCommands.Add(command);
            return command;
        }

        // A statement of one order's rows (the order, its refunds): one result set.
        static int ByOrder(NpgsqlBatchCommand command, ProgramId program, string orderId)
        {
            command.Parameters.Add(Text("program", program.Value));
            command.Parameters.AddWithValue("order_id", orderId);
            return 1;
        }

        switch (read)
        {
            case OrderRead order:
                return ByOrder(Add(OrderByIdSql), order.Program, order.OrderId);
            case ParticipantRead participant:
                Add(ParticipantByIdSql).Parameters.Add(Text("key", participant.Id.Value));
                return 1;
            case VisitorsRead visitors:
                Add(VisitorsSql).Parameters.Add(Text("participant", visitors.Customer.Value));
                return 1;
            case RefundsRead refunds:
                return ByOrder(Add(RefundsSql), refunds.Program, refunds.OrderId);
            case SummariesRead summaries:
            {
                if (summaries.Keys.Count == 0)
                {
                    return 0;
                }
                string[] keys = [.. summaries.Keys];
                // In a session the summaries read are locked to its end (row-level locking): the row by FOR UPDATE, and
                // its key (so a summary read as absent too) by the advisory lock every insert of it takes. Another session
                // deciding on the same participant waits here instead of deciding on what is about to change and meeting a
                // conflict at its write; a participant's decisions run one after the other across instances.
                bool locking = db.Transaction is not null;
                if (locking)
                {
                    var lockKeys = Add(SummaryKeyLocksSql);
                    string prefix = SummaryLockPrefix(db.Store.Schema, summaries.Program, summaries.Participant);
                    lockKeys.Parameters.AddWithValue("keys", keys);
                    lockKeys.Parameters.AddWithValue("lock_prefix", prefix);
                    // Held to the transaction's end once the batch ran; should it fail, the session can only roll back.
                    foreach (string key in keys)
                    {
                        db.LockedKeys.Add(prefix + key);
                    }
                }
                var c = Add(locking ? SummariesForUpdateSql : SummariesSql);
                c.Parameters.Add(Text("program", summaries.Program.Value));
                c.Parameters.Add(Text("participant", summaries.Participant.Value));
                c.Parameters.AddWithValue("keys", keys);
                return locking ? 2 : 1;
            }
            case CountRead count:
            {
                if (count.Until <= count.From)
                {
                    count.Result = 0;
                    return 0;
                }
                var c = Add(count.Kind == CountKind.Touches ? CountTouchesSql : CountCreditedOrdersSql);
                CountWindow.Of(count.From, count.Until, count.Limit).Bind(c.Parameters, count.Program, count.Referrer.Value, hours: false);
                return 1;
            }
            case CustomerTouchesRead touches:
            {
                var c = Add(CustomerTouchesSql);
                c.Parameters.Add(Text("program", touches.Program.Value));
                c.Parameters.Add(Text("customer", touches.Customer.Value));
                c.Parameters.AddWithValue("visitors", touches.Visitors.Where(static v => v is not null).ToArray());
                c.Parameters.AddWithValue("contacts", touches.Contacts.Where(static h => h.Value is not null).Select(static h => h.ToString()).ToArray());
                c.Parameters.AddWithValue("from", ToTicks(Instant.MinValue));
                c.Parameters.AddWithValue("until", ToTicks(Instant.MaxValue));
                c.Parameters.AddWithValue("limit", touches.Limit);
                return 1;
            }
            case SightingsRead sightings:
            {
                var c = Add(SightingsSql);
                c.Parameters.Add(Text("program", sightings.Program.Value));
                c.Parameters.Add(Text("fingerprint", sightings.Fingerprint.Value is null ? null : sightings.Fingerprint.ToString()));
                c.Parameters.AddWithValue("until", ToTicks(sightings.Until));
                c.Parameters.AddWithValue("floor", long.MinValue);
                c.Parameters.AddWithValue("limit", sightings.Limit);
                return 1;
            }
            default:
                throw new ArgumentException($"No batched form for {read.GetType().Name}.", nameof(read));
        }
    }

    private static async ValueTask ReadResultAsync(NpgsqlDataReader reader, StoreRead read, CancellationToken ct)
    {
        switch (read)
        {
            case OrderRead order:
                order.Result = await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadOrder(reader) : null;
                break;
            case ParticipantRead participant:
                participant.Result = await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadParticipant(reader) : null;
                break;
            case VisitorsRead visitors:
            {
                var list = await ReadRowsAsync(reader, static r => r.GetString(0), ct).ConfigureAwait(false);
                list.Sort(StringComparer.Ordinal);
                visitors.Result = list;
                break;
            }
            case RefundsRead refunds:
                refunds.Result = await ReadRowsAsync(reader, ReadRefund, ct).ConfigureAwait(false);
                break;
            case CustomerTouchesRead touches:
                touches.Result = LatestTouchesOf(await ReadRowsAsync(reader, ReadTouch, ct).ConfigureAwait(false), touches.Limit);
                break;
            case SightingsRead sightings:
                sightings.Result = await ReadSightingsAsync(reader, sightings.Limit, ct).ConfigureAwait(false);
                break;
            case CountRead count:
                // The plain count, bound by the window's walk; RunReadsAsync counts a busy window again by its hours.
                await reader.ReadAsync(ct).ConfigureAwait(false);
                count.Result = checked((int)reader.GetInt64(0));
                break;
            case SummariesRead summaries:
            {
                var stored = new Dictionary<string, (long Version, string Document)>(StringComparer.Ordinal);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    stored[reader.GetString(0)] = (reader.GetInt64(1), reader.GetString(2));
                }
                var list = new List<SummaryRow>(stored.Count);
                foreach (var k in summaries.Keys)
                {
                    if (stored.TryGetValue(k, out var row))
                    {
                        list.Add(new SummaryRow(summaries.Program, summaries.Participant, k, row.Version, row.Document));
                    }
                }
                summaries.Result = list;
                break;
            }
        }
    }

    private static async ValueTask<List<FingerprintSighting>> ReadSightingsAsync(NpgsqlDataReader reader, int limit, CancellationToken ct)
    {
        var registered = new List<string>();
        var seen = new List<(long Time, string Id, string Customer)>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            if (reader.IsDBNull(1))
            {
                registered.Add(reader.GetString(0));
            }
            else
            {
                seen.Add((reader.GetInt64(1), reader.GetString(2), reader.GetString(0)));
            }
        }
        // Registered: bounded by the limit in the index's (byte) order, then ordered ordinally; the two orders differ only
        // for ids holding characters above U+FFFF against ones from U+E000, where the set chosen past the limit may differ
        // from the in-memory store's (a shared fingerprint such as a mail domain must not read everyone). Orders: whole
        // instants down to the limit-th's, cut here in the contract's order.
        registered.Sort(StringComparer.Ordinal);
        seen.Sort(static (a, b) => b.Time != a.Time ? b.Time.CompareTo(a.Time) : string.CompareOrdinal(b.Id, a.Id));
        var list = new List<FingerprintSighting>(Math.Min(registered.Count, limit) + Math.Min(seen.Count, limit));
        foreach (var id in registered.Take(limit))
        {
            list.Add(new FingerprintSighting(ParseParticipantId(id, "participant_fingerprints", "participant"), null, null));
        }
        int orders = 0;
        for (int i = 0; i < seen.Count && orders < limit; i++)
        {
            // An order that carried the fingerprint twice is one sighting.
            if (i > 0 && seen[i - 1].Time == seen[i].Time && seen[i - 1].Id == seen[i].Id)
            {
                continue;
            }
            list.Add(new FingerprintSighting(ParseParticipantId(seen[i].Customer, "order_fingerprints", "customer"), ToInstant(seen[i].Time), seen[i].Id));
            orders++;
        }
        return list;
    }

    private static async ValueTask<List<T>> ReadRowsAsync<T>(NpgsqlDataReader reader, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(read(reader));
        }
        return list;
    }

    private const string VisitorsSql = "SELECT visitor FROM {s}.visitor_links WHERE participant = @participant;";

    private const string RefundsSql = """
        SELECT program, order_id, refund_id, amount, currency, event_time, is_chargeback FROM {s}.refunds
        WHERE program = @program AND order_id = @order_id ORDER BY sequence;
        """;

    private const string SummaryKeyLocksSql = "SELECT pg_advisory_xact_lock(hashtextextended(@lock_prefix || k, 0)) FROM unnest(@keys) AS k ORDER BY k;";

    private const string SummariesSql = """
        SELECT key, version, document FROM {s}.summaries
        WHERE program = @program AND participant = @participant AND key = ANY(@keys);
        """;

    private const string SummariesForUpdateSql = """
        SELECT key, version, document FROM {s}.summaries
        WHERE program = @program AND participant = @participant AND key = ANY(@keys) ORDER BY key FOR UPDATE;
        """;
}
