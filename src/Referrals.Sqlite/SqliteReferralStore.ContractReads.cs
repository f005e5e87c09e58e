using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    /// <summary>
    /// The reads of <see cref="IReferralStoreReader"/> over one connection, written once for the committed state (a reader's
    /// connection) and a session (the writer's, inside its transaction): <see cref="Run"/> says which.
    /// </summary>
    /// <remarks>
    /// Order: SQLite's BINARY collation orders text by UTF-8 bytes, which differs from .NET's ordinal (UTF-16) order only
    /// between characters above U+FFFF and those from U+E000 to U+FFFF. So the keyset reads walk their index in (instant,
    /// id) order, read every row of an instant together and order those in .NET (<see cref="PageAsync{T}"/>): the order
    /// is the contract's, and a page costs its rows plus the rest of its last instant's.
    /// </remarks>
    private abstract class ContractReader : IReferralStoreReader
    {
        protected abstract ValueTask<T> Run<TState, T>(TState state, Func<SqliteSession, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken);

        public ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
            Run(code, static async (db, code, ct) =>
            {
                var command = db.Command($"SELECT {CodeColumns} FROM codes WHERE code = $code;");
                command.Parameters.AddWithValue("$code", code.Value ?? string.Empty);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadCode(reader) : null;
            }, cancellationToken);

        public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            // Codes are upper-case ASCII: byte order is ordinal order.
            return Run((program, owner, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command($"SELECT {CodeColumns} FROM codes WHERE program = $program AND owner = $owner AND code > $after ORDER BY code LIMIT $limit;");
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$owner", DbValue(q.owner.Value));
                command.Parameters.AddWithValue("$after", q.after?.Value ?? string.Empty);
                command.Parameters.AddWithValue("$limit", q.limit);
                var list = new List<ReferralCodeRecord>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(ReadCode(reader));
                }
                return (IReadOnlyList<ReferralCodeRecord>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((after, limit), static async (db, q, ct) =>
            {
                var command = db.Command($"SELECT {CodeColumns}, change_seq FROM codes WHERE change_seq > $after ORDER BY change_seq LIMIT $limit;");
                command.Parameters.AddWithValue("$after", q.after);
                command.Parameters.AddWithValue("$limit", q.limit);
                var list = new List<ReferralCodeChange>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(new ReferralCodeChange(reader.GetInt64(12), ReadCode(reader)));
                }
                return (IReadOnlyList<ReferralCodeChange>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
            Run(code, static async (db, code, ct) =>
            {
                // The versions before the current one, then the current one (schema version 10), in one statement: one snapshot.
                var command = db.Command($"SELECT {CodeColumns}, changed_at FROM code_versions WHERE code = $code UNION ALL SELECT {CodeColumns}, changed_at FROM codes WHERE code = $code ORDER BY version;");
                command.Parameters.AddWithValue("$code", code.Value ?? string.Empty);
                var list = new List<CodeRow>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(new CodeRow(ReadCode(reader), ToInstant(reader.GetInt64(12))));
                }
                return (IReadOnlyList<CodeRow>)list;
            }, cancellationToken);

        public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default) =>
            Run(id, static async (db, id, ct) =>
            {
                var found = await LoadParticipantsAsync(db, "SELECT $key", id.Value ?? string.Empty, ct).ConfigureAwait(false);
                return found.Count == 0 ? null : found[0];
            }, cancellationToken);

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default) =>
            Run(contact, static async (db, contact, ct) =>
                (IReadOnlyList<Participant>)await LoadParticipantsAsync(db, "SELECT participant FROM participant_contacts WHERE contact = $key", contact.ToString(), ct).ConfigureAwait(false),
                cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default) =>
            Run(customer, static (db, customer, ct) => VisitorsOfAsync(db, customer, ct), cancellationToken);

        public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(touchId);
            return Run((program, touchId), static async (db, q, ct) =>
            {
                var command = db.Command($"SELECT {TouchColumns} FROM program_touches WHERE program = $program AND id = $id;");
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$id", q.touchId);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadTouch(reader) : null;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(visitors);
            ArgumentNullException.ThrowIfNull(contacts);
            CheckLimit(limit);
            return Run((program, customer, visitors, contacts, from, until, limit), static async (db, q, ct) =>
            {
                // Each look-up walks its index latest first and stops after the limit (and the rest of that instant); the
                // latest of all of them are among what they found.
                var found = new Dictionary<string, Touch>(StringComparer.Ordinal);
                if (q.customer is { } c)
                {
                    await LatestTouchesAsync(db, "customer", q.program, c.Value, q.from, q.until, q.limit, found, ct).ConfigureAwait(false);
                }
                foreach (var v in q.visitors)
                {
                    await LatestTouchesAsync(db, "visitor", q.program, v, q.from, q.until, q.limit, found, ct).ConfigureAwait(false);
                }
                foreach (var h in q.contacts)
                {
                    await LatestTouchesAsync(db, "contact", q.program, h.ToString(), q.from, q.until, q.limit, found, ct).ConfigureAwait(false);
                }
                var list = found.Values.ToList();
                list.Sort(static (a, b) => CompareByTime(b.EventTime, b.Id, a.EventTime, a.Id));
                if (list.Count > q.limit)
                {
                    list.RemoveRange(q.limit, list.Count - q.limit);
                }
                return (IReadOnlyList<Touch>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<Touch>> ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command(ProgramTouchesSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$from", q.after is { } a ? ToTicks(a.Time) : long.MinValue);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return (IReadOnlyList<Touch>)await PageRowsAsync(reader, 12, 0, ReadTouch, q.after, q.limit, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, from, until, limit), static (db, q, ct) => CountAsync(db, CountTouchesSql, CountTouchesByHoursSql, q.program, q.referrer.Value, q.from, q.until, q.limit, ct), cancellationToken);
        }

        public ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run((program, orderId), static (db, q, ct) => LoadOrderAsync(db, q.program, q.orderId, ct), cancellationToken);
        }

        public ValueTask<IReadOnlyList<OrderRow>> ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
            ListOrdersAsync(OrdersByCustomerSql, program, customer.Value, after, limit, cancellationToken);

        public ValueTask<IReadOnlyList<OrderRow>> ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
            ListOrdersAsync(OrdersByTimeSql, program, null, after, limit, cancellationToken);

        public ValueTask<IReadOnlyList<OrderRow>> ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken = default) =>
            ListOrdersAsync(ReferralsSql, program, referrer.Value, after, limit, cancellationToken);

        private ValueTask<IReadOnlyList<OrderRow>> ListOrdersAsync(string sql, ProgramId program, string? key, ListPosition? after, int limit, CancellationToken cancellationToken)
        {
            CheckLimit(limit);
            return Run((sql, program, key, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command(q.sql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                if (q.key is not null)
                {
                    command.Parameters.AddWithValue("$key", q.key);
                }
                command.Parameters.AddWithValue("$from", q.after is { } a ? ToTicks(a.Time) : long.MinValue);
                List<(long Time, string Id, string Id2)> keys;
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    keys = await PageAsync(reader, static r => r.GetString(1), q.after, q.limit, descending: false, ct).ConfigureAwait(false);
                }
                return (IReadOnlyList<OrderRow>)await LoadOrdersAsync(db, q.program, keys.ConvertAll(static k => k.Id), ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, from, until, limit), static (db, q, ct) => CountAsync(db, CountCreditedOrdersSql, CountCreditedOrdersByHoursSql, q.program, q.referrer.Value, q.from, q.until, q.limit, ct), cancellationToken);
        }

        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, after, before, limit), static async (db, q, ct) =>
            {
                void Bind(SqliteCommand c)
                {
                    c.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                    c.Parameters.AddWithValue("$key", q.referrer.Value);
                }
                if (q.after is not { } a)
                {
                    return await CountBeforeAsync(db, ReferralsBeforeSql, ReferralsAtSql, q.before, q.limit, Bind, ct).ConfigureAwait(false);
                }
                if (q.before.CompareTo(a) <= 0)
                {
                    return 0;
                }
                // Strictly between: the instants between the two on the index, then the rows at each end's instant
                // compared in .NET (ordinal, as every other position).
                long count = 0;
                if (a.Time < q.before.Time)
                {
                    var command = db.Command(ReferralsBetweenSql);
                    Bind(command);
                    command.Parameters.AddWithValue("$from", ToTicks(a.Time));
                    command.Parameters.AddWithValue("$until", ToTicks(q.before.Time));
                    command.Parameters.AddWithValue("$limit", q.limit);
                    count = (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                }
                foreach (var time in a.Time < q.before.Time ? new[] { a.Time, q.before.Time } : [a.Time])
                {
                    var command = db.Command(ReferralsAtSql);
                    Bind(command);
                    command.Parameters.AddWithValue("$time", ToTicks(time));
                    using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (count < q.limit && await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        var at = new ListPosition(time, reader.GetString(0));
                        if (at.CompareTo(a) > 0 && at.CompareTo(q.before) < 0)
                        {
                            count++;
                        }
                    }
                }
                return (int)Math.Min(count, q.limit);
            }, cancellationToken);
        }

        public ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((code, before, limit), static (db, q, ct) => CountBeforeAsync(db, CodeUsesBeforeSql, CodeUsesAtSql, q.before, q.limit, c =>
                c.Parameters.AddWithValue("$code", q.code.Value ?? string.Empty), ct), cancellationToken);
        }

        /// <summary>
        /// Rows before a position: those at earlier instants counted on the index (<paramref name="beforeSql"/>, up to the
        /// limit), those at its instant (<paramref name="atSql"/>, their order ids) compared in .NET — ordinal, as every
        /// other position.
        /// </summary>
        private static async ValueTask<int> CountBeforeAsync(SqliteSession db, string beforeSql, string atSql, ListPosition before, int limit, Action<SqliteCommand> bind, CancellationToken ct)
        {
            var command = db.Command(beforeSql);
            bind(command);
            command.Parameters.AddWithValue("$until", ToTicks(before.Time));
            command.Parameters.AddWithValue("$limit", limit);
            long count = (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            if (count >= limit)
            {
                return limit;
            }
            command = db.Command(atSql);
            bind(command);
            command.Parameters.AddWithValue("$time", ToTicks(before.Time));
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (count < limit && await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (string.CompareOrdinal(reader.GetString(0), before.Id) < 0)
                {
                    count++;
                }
            }
            return (int)count;
        }

        public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run((program, orderId), static async (db, key, ct) =>
            {
                var command = db.Command($"SELECT {RefundColumns} FROM refunds f WHERE f.program = $program AND f.order_id = $order_id ORDER BY f.seq;");
                command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
                command.Parameters.AddWithValue("$order_id", key.orderId);
                var refunds = new List<Refund>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    refunds.Add(ReadRefund(reader));
                }
                return (IReadOnlyList<Refund>)refunds;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(keys);
            return Run((program, participant, keys), static async (db, q, ct) =>
            {
                var command = db.Command("SELECT version, document FROM summaries WHERE program = $program AND participant = $participant AND key = $key;");
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$participant", DbValue(q.participant.Value));
                var key = command.Parameters.Add("$key", SqliteType.Text);
                var list = new List<SummaryRow>(q.keys.Count);
                foreach (var k in q.keys)
                {
                    ArgumentNullException.ThrowIfNull(k, "keys");
                    key.Value = k;
                    using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    if (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        list.Add(new SummaryRow(q.program, q.participant, k, reader.GetInt64(0), reader.GetString(1)));
                    }
                }
                return (IReadOnlyList<SummaryRow>)list;
            }, cancellationToken);
        }

        public ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(rewardId);
            return Run((program, rewardId), static async (db, q, ct) =>
            {
                var command = db.Command($"SELECT {RewardColumns} FROM rewards WHERE program = $program AND reward_id = $key;");
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$key", q.rewardId);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadReward(reader) : null;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run((program, orderId), static async (db, q, ct) =>
            {
                var command = db.Command(OrderRewardsSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$key", q.orderId);
                var list = new List<RewardRow>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(ReadReward(reader));
                }
                list.Sort(static (a, b) => string.CompareOrdinal(a.RewardId, b.RewardId));
                return (IReadOnlyList<RewardRow>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, due, until, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command(DueRewardsSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$due", (long)q.due);
                command.Parameters.AddWithValue("$until", ToTicks(q.until));
                command.Parameters.AddWithValue("$from", q.after is { } a ? ToTicks(a.Time) : long.MinValue);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)await PageRowsAsync(reader, 7, 1, ReadReward, q.after, q.limit, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, beneficiary, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command(BeneficiaryRewardsSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$key", DbValue(q.beneficiary.Value));
                command.Parameters.AddWithValue("$from", q.after is { } a ? ToTicks(a.Time) : long.MinValue);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)await PageRowsAsync(reader, 4, 1, ReadReward, q.after, q.limit, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, after, limit), static async (db, q, ct) =>
            {
                var command = db.Command(ProgramRewardsSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$from", q.after is { } a ? ToTicks(a.Time) : long.MinValue);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)await PageRowsAsync(reader, 4, 1, ReadReward, q.after, q.limit, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(rewardId);
            return Run((program, rewardId), static async (db, q, ct) =>
            {
                var command = db.Command(RewardEntriesSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$key", q.rewardId);
                return (IReadOnlyList<EntryRow>)await ReadLedgerAsync(command, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, afterSequence, limit), static async (db, q, ct) =>
            {
                var command = db.Command(LedgerSql);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$after", q.afterSequence);
                command.Parameters.AddWithValue("$limit", q.limit);
                return (IReadOnlyList<EntryRow>)await ReadLedgerAsync(command, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, fingerprint, until, limit), static async (db, q, ct) =>
            {
                var list = new List<FingerprintSighting>();
                // Bounded by the limit in the index's (byte) order, then ordered ordinally: the two orders differ only for
                // ids holding characters above U+FFFF against ones from U+E000, where the set chosen past the limit may
                // differ from the in-memory store's (a shared fingerprint such as a mail domain must not read everyone).
                var command = db.Command("SELECT DISTINCT participant FROM participant_fingerprints WHERE fingerprint = $fingerprint ORDER BY participant LIMIT $limit;");
                command.Parameters.AddWithValue("$fingerprint", q.fingerprint.ToString());
                command.Parameters.AddWithValue("$limit", q.limit);
                var registered = new List<string>();
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        registered.Add(reader.GetString(0));
                    }
                }
                registered.Sort(StringComparer.Ordinal);
                foreach (var id in registered.Take(q.limit))
                {
                    list.Add(new FingerprintSighting(ParseParticipantId(id, "participant_fingerprints", "participant"), null, null));
                }
                command = db.Command("""
                    SELECT customer, event_time, order_id FROM conversion_fingerprints
                    WHERE program = $program AND fingerprint = $fingerprint AND event_time < $until
                    ORDER BY event_time DESC, order_id DESC;
                    """);
                command.Parameters.AddWithValue("$program", DbValue(q.program.Value));
                command.Parameters.AddWithValue("$fingerprint", q.fingerprint.ToString());
                command.Parameters.AddWithValue("$until", ToTicks(q.until));
                List<(long Time, string Id, string Customer)> seen;
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    seen = await PageAsync(reader, static r => r.GetString(0), null, q.limit, descending: true, ct, timeOrdinal: 1, idOrdinal: 2).ConfigureAwait(false);
                }
                foreach (var s in seen)
                {
                    list.Add(new FingerprintSighting(ParseParticipantId(s.Customer, "conversion_fingerprints", "customer"), ToInstant(s.Time), s.Id));
                }
                return (IReadOnlyList<FingerprintSighting>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default) =>
            Run(participant, static async (db, participant, ct) =>
            {
                var command = db.Command("SELECT erasure_id, participant, at, actor, reason FROM erasures WHERE participant = $participant;");
                command.Parameters.AddWithValue("$participant", DbValue(participant.Value));
                var list = new List<ParticipantErasure>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(new ParticipantErasure(
                        ReadParticipantId(reader, 1, "erasures", "participant"),
                        reader.GetString(0),
                        ToInstant(reader.GetInt64(2)),
                        reader.GetString(3),
                        reader.GetString(4)));
                }
                list.Sort(static (a, b) => CompareByTime(a.At, a.ErasureId, b.At, b.ErasureId));
                return (IReadOnlyList<ParticipantErasure>)list;
            }, cancellationToken);

        public ValueTask<IReadOnlyList<ProgramId>> ListPendingRebuildsAsync(CancellationToken cancellationToken = default) =>
            Run(0, static async (db, _, ct) =>
            {
                var command = db.Command("SELECT program FROM pending_rebuilds;");
                var list = new List<ProgramId>();
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(ReadProgramId(reader, 0, "pending_rebuilds", "program"));
                }
                list.Sort(static (a, b) => string.CompareOrdinal(a.Value, b.Value));
                return (IReadOnlyList<ProgramId>)list;
            }, cancellationToken);
    }

    // The keyset reads, each a range of one index in (instant, id) order; the store tests check their plans.
    internal const string OrdersByTimeSql = """
        SELECT event_time, order_id FROM conversions
        WHERE program = $program AND document IS NOT NULL AND event_time >= $from
        ORDER BY event_time, order_id;
        """;

    internal const string OrdersByCustomerSql = """
        SELECT event_time, order_id FROM conversions INDEXED BY conversions_by_customer
        WHERE program = $program AND customer = $key AND event_time >= $from AND document IS NOT NULL
        ORDER BY event_time, order_id;
        """;

    internal const string ReferralsSql = """
        SELECT event_time, order_id FROM conversions
        WHERE program = $program AND counted_referrer = $key AND event_time >= $from
        ORDER BY event_time, order_id;
        """;

    internal const string ProgramTouchesSql = $"""
        SELECT {TouchColumns} FROM program_touches
        WHERE program = $program AND event_time >= $from
        ORDER BY event_time, id;
        """;

    internal const string CountTouchesSql = """
        SELECT count(*) FROM (SELECT 1 FROM program_touches
        WHERE program = $program AND referrer = $key AND event_time >= $from AND event_time < $until LIMIT $limit);
        """;

    internal const string CountCreditedOrdersSql = """
        SELECT count(*) FROM (SELECT 1 FROM conversions
        WHERE program = $program AND credited_referrer = $key AND event_time >= $from AND event_time < $until LIMIT $limit);
        """;

    internal const string ReferralsBeforeSql = """
        SELECT count(*) FROM (SELECT 1 FROM conversions
        WHERE program = $program AND counted_referrer = $key AND event_time < $until LIMIT $limit);
        """;

    internal const string ReferralsBetweenSql = """
        SELECT count(*) FROM (SELECT 1 FROM conversions
        WHERE program = $program AND counted_referrer = $key AND event_time > $from AND event_time < $until LIMIT $limit);
        """;

    internal const string ReferralsAtSql = """
        SELECT order_id FROM conversions WHERE program = $program AND counted_referrer = $key AND event_time = $time;
        """;

    internal const string CodeUsesAtSql = """
        SELECT order_id FROM conversions WHERE credited_code = $code AND event_time = $time;
        """;

    internal const string CodeUsesBeforeSql = """
        SELECT count(*) FROM (SELECT 1 FROM conversions
        WHERE credited_code = $code AND event_time < $until LIMIT $limit);
        """;

    /// <summary>A prospect's touches by one of customer, visitor or contact (a constant of this class, never input), latest first.</summary>
    internal static string LatestTouchesSql(string column) => $"""
        SELECT {TouchColumns} FROM program_touches INDEXED BY program_touches_by_{column}
        WHERE program = $program AND {column} = $key AND event_time >= $from AND event_time < $until
        ORDER BY event_time DESC, id DESC;
        """;

    private const string RewardColumns = "program, reward_id, beneficiary, order_id, conversion_time, version, due, due_at, document";

    // Look-ups by key that name their index: without statistics (no ANALYZE) SQLite's planner takes the primary key's
    // or the program's prefix for these and reads every reward or entry of the program — a reward pass or a conversion
    // then costs as much as the program's history. The store tests check their plans.
    internal const string OrderRewardsSql =
        $"SELECT {RewardColumns} FROM rewards INDEXED BY rewards_by_order WHERE program = $program AND order_id = $key;";

    internal const string RewardEntriesSql =
        "SELECT seq, program, reward_id, entry_id, recorded_at, document FROM ledger INDEXED BY ledger_by_reward WHERE program = $program AND reward_id = $key ORDER BY seq;";

    internal const string DueRewardsSql = $"""
        SELECT {RewardColumns} FROM rewards
        WHERE program = $program AND due = $due AND due_at <= $until AND due_at >= $from
        ORDER BY due_at, reward_id;
        """;

    internal const string BeneficiaryRewardsSql = $"""
        SELECT {RewardColumns} FROM rewards
        WHERE program = $program AND beneficiary = $key AND conversion_time >= $from
        ORDER BY conversion_time, reward_id;
        """;

    internal const string ProgramRewardsSql = $"""
        SELECT {RewardColumns} FROM rewards
        WHERE program = $program AND conversion_time >= $from
        ORDER BY conversion_time, reward_id;
        """;

    internal const string LedgerSql = """
        SELECT seq, program, reward_id, entry_id, recorded_at, document FROM ledger
        WHERE program = $program AND seq > $after ORDER BY seq LIMIT $limit;
        """;

    private static void CheckLimit(int limit) => ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

    /// <summary>
    /// Reads (instant, id, value) rows that come in instant order (descending or not), ids of one instant in any order;
    /// returns those strictly after <paramref name="after"/> in (instant, ordinal id) order — the same order reversed when
    /// <paramref name="descending"/> — at most <paramref name="limit"/>. Every row of an instant is read before any is kept.
    /// </summary>
    private static async ValueTask<List<(long Time, string Id, T Value)>> PageAsync<T>(
        SqliteDataReader reader, Func<SqliteDataReader, T> read, ListPosition? after, int limit, bool descending, CancellationToken cancellationToken,
        int timeOrdinal = 0, int idOrdinal = 1)
    {
        var result = new List<(long Time, string Id, T Value)>();
        var group = new List<(long Time, string Id, T Value)>();
        long afterTime = after is { } a ? ToTicks(a.Time) : 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long time = reader.GetInt64(timeOrdinal);
            if (group.Count > 0 && group[0].Time != time)
            {
                Flush();
                if (result.Count >= limit)
                {
                    break;
                }
            }
            group.Add((time, reader.GetString(idOrdinal), read(reader)));
        }
        Flush();
        if (result.Count > limit)
        {
            result.RemoveRange(limit, result.Count - limit);
        }
        return result;

        void Flush()
        {
            group.Sort(descending
                ? static (x, y) => string.CompareOrdinal(y.Id, x.Id)
                : static (x, y) => string.CompareOrdinal(x.Id, y.Id));
            foreach (var row in group)
            {
                if (after is not { } position || row.Time > afterTime || (row.Time == afterTime && string.CompareOrdinal(row.Id, position.Id) > 0))
                {
                    result.Add(row);
                }
            }
            group.Clear();
        }
    }

    private static async ValueTask<List<T>> PageRowsAsync<T>(SqliteDataReader reader, int timeOrdinal, int idOrdinal, Func<SqliteDataReader, T> read, ListPosition? after, int limit, CancellationToken cancellationToken)
    {
        var page = await PageAsync(reader, read, after, limit, descending: false, cancellationToken, timeOrdinal, idOrdinal).ConfigureAwait(false);
        return page.ConvertAll(static p => p.Value);
    }

    private static async ValueTask<IReadOnlyList<string>> VisitorsOfAsync(SqliteSession db, ParticipantId customer, CancellationToken cancellationToken)
    {
        var command = db.Command("SELECT visitor FROM visitor_links WHERE participant = $participant;");
        command.Parameters.AddWithValue("$participant", customer.Value ?? string.Empty);
        var visitors = new List<string>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            visitors.Add(reader.GetString(0));
        }
        visitors.Sort(StringComparer.Ordinal);
        return visitors;
    }

    private static async ValueTask LatestTouchesAsync(SqliteSession db, string column, ProgramId program, string key, Instant from, Instant until, int limit, Dictionary<string, Touch> into, CancellationToken cancellationToken)
    {
        var command = db.Command(LatestTouchesSql(column));
        command.Parameters.AddWithValue("$program", DbValue(program.Value));
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$from", ToTicks(from));
        command.Parameters.AddWithValue("$until", ToTicks(until));
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var page = await PageAsync(reader, ReadTouch, null, limit, descending: true, cancellationToken, timeOrdinal: 12, idOrdinal: 0).ConfigureAwait(false);
        foreach (var (_, id, touch) in page)
        {
            into.TryAdd(id, touch);
        }
    }

    /// <summary>
    /// A referrer's rows of one kind in [from, until), up to <paramref name="limit"/>. The index is walked first
    /// (<paramref name="sql"/>), no further than <see cref="WalkFirst"/> entries: most referrers have a few referrals in a
    /// day, and that is their count. A window holding more, over two hours or more, is counted by
    /// <paramref name="byHoursSql"/>: the hours it covers whole added up from <c>referrer_hours</c>, the index walked only
    /// in the partial hours at its two ends — so a day's count reads about 24 rows and two hours' index entries whatever
    /// the day holds.
    /// </summary>
    private static async ValueTask<int> CountAsync(SqliteSession db, string sql, string byHoursSql, ProgramId program, string key, Instant from, Instant until, int limit, CancellationToken cancellationToken)
    {
        if (until <= from)
        {
            return 0;
        }
        long start = ToTicks(from), end = ToTicks(until);
        long firstWhole = HourOf(start - 1) + 1, endWhole = HourOf(end);
        bool hours = endWhole - firstWhole >= 1;
        int walk = hours ? Math.Min(limit, WalkFirst) : limit;
        var command = db.Command(sql);
        Bind(command.Parameters, program, key, start, end, walk);
        long count = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (count < walk || walk == limit)
        {
            return (int)count;
        }
        command = db.Command(byHoursSql);
        var p = command.Parameters;
        Bind(p, program, key, start, firstWhole * TicksPerHour, limit);
        p.AddWithValue("$first_hour", firstWhole);
        p.AddWithValue("$end_hour", endWhole);
        p.AddWithValue("$from2", endWhole * TicksPerHour);
        p.AddWithValue("$until2", end);
        return (int)Math.Min((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!, limit);

        static void Bind(SqliteParameterCollection p, ProgramId program, string key, long from, long until, int limit)
        {
            p.AddWithValue("$program", DbValue(program.Value));
            p.AddWithValue("$key", DbValue(key));
            p.AddWithValue("$from", from);
            p.AddWithValue("$until", until);
            p.AddWithValue("$limit", limit);
        }
    }

    /// <summary>How many index entries a count walks before it adds up hours instead (see <see cref="CountAsync"/>).</summary>
    internal const int WalkFirst = 64;

    internal static readonly string CountTouchesByHoursSql = ByHoursSql("program_touches", "referrer", TouchHours);

    internal static readonly string CountCreditedOrdersByHoursSql = ByHoursSql("conversions", "credited_referrer", CreditedHours);

    // [from, until) and [from2, until2) are the window's partial hours, walked on the referrer's index of the table;
    // [first_hour, end_hour) the whole hours between them, summed (schema version 12).
    private static string ByHoursSql(string table, string referrer, long kind) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
        SELECT (SELECT count(*) FROM (SELECT 1 FROM {table}
                WHERE program = $program AND {referrer} = $key AND event_time >= $from AND event_time < $until LIMIT $limit))
             + (SELECT coalesce(sum(count), 0) FROM referrer_hours
                WHERE program = $program AND referrer = $key AND kind = {kind} AND hour >= $first_hour AND hour < $end_hour)
             + (SELECT count(*) FROM (SELECT 1 FROM {table}
                WHERE program = $program AND {referrer} = $key AND event_time >= $from2 AND event_time < $until2 LIMIT $limit));
        """);

    private const string OrderColumns = "version, document, credited_referrer, credited_code, counted_referrer";

    /// <summary>An order of the contract (a conversion's row with a document) with its contact and fingerprint rows.</summary>
    private static async ValueTask<OrderRow?> LoadOrderAsync(SqliteSession db, ProgramId program, string orderId, CancellationToken cancellationToken)
    {
        var command = db.Command($"SELECT {ConversionColumns}, {OrderColumns} FROM conversions c WHERE c.program = $program AND c.order_id = $order_id AND c.document IS NOT NULL;");
        command.Parameters.AddWithValue("$program", DbValue(program.Value));
        command.Parameters.AddWithValue("$order_id", orderId);
        Conversion conversion;
        long version;
        string document;
        ParticipantId? credited, counted;
        ReferralCode? code;
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            conversion = ReadConversionColumns(reader, [], []);
            version = reader.IsDBNull(12) ? 1 : reader.GetInt64(12);
            document = reader.GetString(13);
            credited = reader.IsDBNull(14) ? null : ReadParticipantId(reader, 14, "conversions", "credited_referrer");
            code = reader.IsDBNull(15) ? null : ReadReferralCode(reader, 15, "conversions", "credited_code");
            counted = reader.IsDBNull(16) ? null : ReadParticipantId(reader, 16, "conversions", "counted_referrer");
        }
        var contacts = new List<ContactHash>();
        command = db.Command("SELECT contact FROM conversion_contacts WHERE program = $program AND order_id = $order_id ORDER BY ordinal;");
        command.Parameters.AddWithValue("$program", DbValue(program.Value));
        command.Parameters.AddWithValue("$order_id", orderId);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                contacts.Add(ReadContact(reader, 0, "conversion_contacts", "contact"));
            }
        }
        var fingerprints = new List<Fingerprint>();
        command = db.Command("SELECT fingerprint FROM conversion_fingerprints WHERE program = $program AND order_id = $order_id ORDER BY ordinal;");
        command.Parameters.AddWithValue("$program", DbValue(program.Value));
        command.Parameters.AddWithValue("$order_id", orderId);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string stored = reader.GetString(0);
                fingerprints.Add(Fingerprint.TryParse(stored, out var f) ? f : throw BadRow("conversion_fingerprints", "fingerprint", stored));
            }
        }
        return new OrderRow(conversion with { Contacts = contacts, Fingerprints = fingerprints }, version, document, credited, code, counted);
    }

    // A page of orders by their ids ($ids: a JSON array): one search of the primary key per id; the store tests check the plans.
    internal const string PageOrdersSql =
        $"SELECT {ConversionColumns}, {OrderColumns} FROM conversions c WHERE c.program = $program AND c.order_id IN (SELECT value FROM json_each($ids)) AND c.document IS NOT NULL;";

    internal const string PageContactsSql =
        "SELECT order_id, contact FROM conversion_contacts WHERE program = $program AND order_id IN (SELECT value FROM json_each($ids)) ORDER BY order_id, ordinal;";

    internal const string PageFingerprintsSql =
        "SELECT order_id, fingerprint FROM conversion_fingerprints WHERE program = $program AND order_id IN (SELECT value FROM json_each($ids)) ORDER BY order_id, ordinal;";

    /// <summary>
    /// The orders of a page, in the page's order: three queries for the page (the rows, their contacts, their
    /// fingerprints), each one look-up of the primary key per order, instead of three per order.
    /// </summary>
    private static async ValueTask<List<OrderRow>> LoadOrdersAsync(SqliteSession db, ProgramId program, List<string> orderIds, CancellationToken cancellationToken)
    {
        if (orderIds.Count == 0)
        {
            return [];
        }
        string ids = System.Text.Json.JsonSerializer.Serialize(orderIds);
        SqliteCommand Command(string sql)
        {
            var command = db.Command(sql);
            command.Parameters.AddWithValue("$program", DbValue(program.Value));
            command.Parameters.AddWithValue("$ids", ids);
            return command;
        }
        var rows = new Dictionary<string, (Conversion Conversion, long Version, string Document, ParticipantId? Credited, ReferralCode? Code, ParticipantId? Counted)>(orderIds.Count, StringComparer.Ordinal);
        using (var reader = await Command(PageOrdersSql)
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var conversion = ReadConversionColumns(reader, [], []);
                rows[conversion.OrderId] = (
                    conversion,
                    reader.IsDBNull(12) ? 1 : reader.GetInt64(12),
                    reader.GetString(13),
                    reader.IsDBNull(14) ? null : ReadParticipantId(reader, 14, "conversions", "credited_referrer"),
                    reader.IsDBNull(15) ? null : ReadReferralCode(reader, 15, "conversions", "credited_code"),
                    reader.IsDBNull(16) ? null : ReadParticipantId(reader, 16, "conversions", "counted_referrer"));
            }
        }
        var contacts = new Dictionary<string, List<ContactHash>>(StringComparer.Ordinal);
        using (var reader = await Command(PageContactsSql)
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string id = reader.GetString(0);
                if (!contacts.TryGetValue(id, out var list))
                {
                    contacts[id] = list = [];
                }
                list.Add(ReadContact(reader, 1, "conversion_contacts", "contact"));
            }
        }
        var fingerprints = new Dictionary<string, List<Fingerprint>>(StringComparer.Ordinal);
        using (var reader = await Command(PageFingerprintsSql)
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string id = reader.GetString(0);
                string stored = reader.GetString(1);
                if (!fingerprints.TryGetValue(id, out var list))
                {
                    fingerprints[id] = list = [];
                }
                list.Add(Fingerprint.TryParse(stored, out var f) ? f : throw BadRow("conversion_fingerprints", "fingerprint", stored));
            }
        }
        var orders = new List<OrderRow>(orderIds.Count);
        foreach (var id in orderIds)
        {
            if (rows.TryGetValue(id, out var r))
            {
                orders.Add(new OrderRow(
                    r.Conversion with { Contacts = contacts.GetValueOrDefault(id) ?? [], Fingerprints = fingerprints.GetValueOrDefault(id) ?? [] },
                    r.Version, r.Document, r.Credited, r.Code, r.Counted));
            }
        }
        return orders;
    }

    private static RewardRow ReadReward(SqliteDataReader reader) => new(
        ReadProgramId(reader, 0, "rewards", "program"),
        reader.GetString(1),
        ReadParticipantId(reader, 2, "rewards", "beneficiary"),
        reader.GetString(3),
        ToInstant(reader.GetInt64(4)),
        reader.GetInt64(5),
        reader.IsDBNull(6) ? null : (RewardDue)reader.GetInt32(6),
        reader.IsDBNull(7) ? null : ToInstant(reader.GetInt64(7)),
        reader.GetString(8));

    private static async ValueTask<List<EntryRow>> ReadLedgerAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var list = new List<EntryRow>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new EntryRow(
                ReadProgramId(reader, 1, "ledger", "program"),
                reader.GetString(2),
                reader.GetString(3),
                ToInstant(reader.GetInt64(4)),
                reader.GetString(5),
                reader.GetInt64(0)));
        }
        return list;
    }
}
