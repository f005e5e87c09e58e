using NodaTime;
using Npgsql;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    /// <summary>
    /// The reads of <see cref="IReferralStoreReader"/>, written once for the committed state (a pooled connection, no
    /// transaction) and a session (its connection, inside its transaction): <see cref="Run"/> says which. Each read is
    /// one statement, so a committed read sees one snapshot (an order with its contacts, a participant with its lists).
    /// </summary>
    /// <remarks>
    /// Order: the <c>"C"</c> collation orders text by UTF-8 bytes, which differs from .NET's ordinal (UTF-16) order only
    /// between characters above U+FFFF and those from U+E000 to U+FFFF. So a keyset read takes, on its index, every row at
    /// the position's instant and the rows of the later instants up to the instant of the limit-th of them (found by
    /// the same index, <see cref="PagedSql"/>), and orders and cuts them in .NET (<see cref="Page{T}"/>): the order is the
    /// contract's, and a page costs its rows plus the rest of its first and last instants'.
    /// </remarks>
    private abstract class ContractReader : IReferralStoreReader
    {
        protected abstract ValueTask<T> Run<TState, T>(TState state, Func<PgDb, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken);

        public ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
            Run(code, static async (db, code, ct) =>
            {
                await using var command = db.Command($"SELECT {CodeColumns} FROM {{s}}.codes WHERE code = @code;");
                command.Parameters.Add(Text("code", code.Value));
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadCode(reader, "codes") : null;
            }, cancellationToken);

        public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            // Codes are upper-case ASCII: byte order is ordinal order.
            return Run((program, owner, after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {CodeColumns} FROM {{s}}.codes WHERE program = @program AND owner = @owner AND code > @after ORDER BY code LIMIT @limit;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.Add(Text("owner", q.owner.Value));
                command.Parameters.AddWithValue("after", q.after?.Value ?? string.Empty);
                command.Parameters.AddWithValue("limit", q.limit);
                return (IReadOnlyList<ReferralCodeRecord>)await ReadAllAsync(command, static r => ReadCode(r, "codes"), ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {CodeColumns}, change_position FROM {{s}}.codes WHERE change_position > @after ORDER BY change_position LIMIT @limit;");
                command.Parameters.AddWithValue("after", q.after);
                command.Parameters.AddWithValue("limit", q.limit);
                return (IReadOnlyList<ReferralCodeChange>)await ReadAllAsync(command, static r => new ReferralCodeChange(r.GetInt64(12), ReadCode(r, "codes")), ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
            Run(code, static async (db, code, ct) =>
            {
                await using var command = db.Command($"SELECT {CodeColumns}, changed_at FROM {{s}}.code_versions WHERE code = @code ORDER BY version;");
                command.Parameters.Add(Text("code", code.Value));
                return (IReadOnlyList<CodeRow>)await ReadAllAsync(command, static r => new CodeRow(ReadCode(r, "code_versions"), ToInstant(r.GetInt64(12))), ct).ConfigureAwait(false);
            }, cancellationToken);

        public ValueTask<IReadOnlyList<ProgramId>> ListPendingRebuildsAsync(CancellationToken cancellationToken = default) =>
            Run(0, static async (db, _, ct) =>
            {
                await using var command = db.Command("SELECT program FROM {s}.pending_rebuilds;");
                var list = await ReadAllAsync(command, static r => ReadProgramId(r, 0, "pending_rebuilds", "program"), ct).ConfigureAwait(false);
                list.Sort(static (a, b) => string.CompareOrdinal(a.Value, b.Value));
                return (IReadOnlyList<ProgramId>)list;
            }, cancellationToken);

        public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default) =>
            Run(new ParticipantRead(id), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default) =>
            Run(contact, static async (db, contact, ct) =>
                (IReadOnlyList<Participant>)await LoadParticipantsAsync(db, ParticipantsByContactSql, contact.Value is null ? null : contact.ToString(), ct).ConfigureAwait(false),
                cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default) =>
            Run(new VisitorsRead(customer), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);

        public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(touchId);
            return Run((program, touchId), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {TouchColumns} FROM {{s}}.touches WHERE program = @program AND id = @id;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("id", q.touchId);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
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
                string[] customers = q.customer is { Value: { } c } ? [c] : [];
                string[] visitors = [.. q.visitors.Where(static v => v is not null)];
                string[] contacts = [.. q.contacts.Where(static h => h.Value is not null).Select(static h => h.ToString())];
                int keys = (customers.Length > 0 ? 1 : 0) | (visitors.Length > 0 ? 2 : 0) | (contacts.Length > 0 ? 4 : 0);
                if (q.until <= q.from || keys == 0)
                {
                    return (IReadOnlyList<Touch>)[];
                }
                await using var command = db.Command(LatestTouchesSql[keys]);
                command.Parameters.Add(Text("program", q.program.Value));
                foreach (var (bit, name, values) in (ReadOnlySpan<(int, string, string[])>)[(1, "customers", customers), (2, "visitors", visitors), (4, "contacts", contacts)])
                {
                    if ((keys & bit) != 0)
                    {
                        command.Parameters.AddWithValue(name, values);
                    }
                }
                command.Parameters.AddWithValue("from", ToTicks(q.from));
                command.Parameters.AddWithValue("until", ToTicks(q.until));
                command.Parameters.AddWithValue("limit", q.limit);
                return (IReadOnlyList<Touch>)LatestTouchesOf(await ReadAllAsync(command, ReadTouch, ct).ConfigureAwait(false), q.limit);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<Touch>> ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command(ProgramTouchesSql);
                command.Parameters.Add(Text("program", q.program.Value));
                BindPage(command.Parameters, q.after, long.MaxValue, q.limit);
                var rows = await ReadAllAsync(command, static r => (r.GetInt64(12), r.GetString(0), ReadTouch(r)), ct).ConfigureAwait(false);
                return (IReadOnlyList<Touch>)Page(rows, q.after, q.limit);
            }, cancellationToken);
        }

        public ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, from, until, limit), static (db, q, ct) => CountInRangeAsync(db, CountKind.Touches, q.program, q.referrer.Value, q.from, q.until, q.limit, ct), cancellationToken);
        }

        public ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run(new OrderRead(program, orderId), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);
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
                await using var command = db.Command(q.sql);
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.Add(Text("key", q.key));
                BindPage(command.Parameters, q.after, long.MaxValue, q.limit);
                var rows = await ReadAllAsync(command, static r => (r.GetInt64(5), r.GetString(1), ReadOrder(r)), ct).ConfigureAwait(false);
                return (IReadOnlyList<OrderRow>)Page(rows, q.after, q.limit);
            }, cancellationToken);
        }

        public ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, from, until, limit), static (db, q, ct) => CountInRangeAsync(db, CountKind.CreditedOrders, q.program, q.referrer.Value, q.from, q.until, q.limit, ct), cancellationToken);
        }

        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, referrer, after, before, limit), static (db, q, ct) =>
                CountBetweenAsync(db, CountReferralsSql, q.program, q.referrer.Value, q.after, q.before, q.limit, ct), cancellationToken);
        }

        public ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((code, before, limit), static (db, q, ct) =>
                CountBetweenAsync(db, CountCodeUsesSql, null, q.code.Value, null, q.before, q.limit, ct), cancellationToken);
        }

        public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run(new RefundsRead(program, orderId), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(keys);
            foreach (var k in keys)
            {
                ArgumentNullException.ThrowIfNull(k, nameof(keys));
            }
            return Run(new SummariesRead(program, participant, keys), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);
        }

        public ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(rewardId);
            return Run((program, rewardId), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {RewardColumns} FROM {{s}}.rewards WHERE program = @program AND reward_id = @reward_id;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("reward_id", q.rewardId);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadReward(reader) : null;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(orderId);
            return Run((program, orderId), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {RewardColumns} FROM {{s}}.rewards WHERE program = @program AND order_id = @order_id;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("order_id", q.orderId);
                var list = await ReadAllAsync(command, ReadReward, ct).ConfigureAwait(false);
                list.Sort(static (a, b) => string.CompareOrdinal(a.RewardId, b.RewardId));
                return (IReadOnlyList<RewardRow>)list;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, due, until, after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command(DueRewardsSql);
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("due", (int)q.due);
                BindPage(command.Parameters, q.after, ToTicks(q.until), q.limit);
                var rows = await ReadAllAsync(command, static r => (r.GetInt64(7), r.GetString(1), ReadReward(r)), ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)Page(rows, q.after, q.limit);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, beneficiary, after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command(BeneficiaryRewardsSql);
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.Add(Text("key", q.beneficiary.Value));
                BindPage(command.Parameters, q.after, long.MaxValue, q.limit);
                var rows = await ReadAllAsync(command, static r => (r.GetInt64(4), r.GetString(1), ReadReward(r)), ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)Page(rows, q.after, q.limit);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<RewardRow>> ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, after, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command(ProgramRewardsSql);
                command.Parameters.Add(Text("program", q.program.Value));
                BindPage(command.Parameters, q.after, long.MaxValue, q.limit);
                var rows = await ReadAllAsync(command, static r => (r.GetInt64(4), r.GetString(1), ReadReward(r)), ct).ConfigureAwait(false);
                return (IReadOnlyList<RewardRow>)Page(rows, q.after, q.limit);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(rewardId);
            return Run((program, rewardId), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {EntryColumns} FROM {{s}}.ledger WHERE program = @program AND reward_id = @reward_id ORDER BY sequence;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("reward_id", q.rewardId);
                return (IReadOnlyList<EntryRow>)await ReadAllAsync(command, ReadEntry, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run((program, afterSequence, limit), static async (db, q, ct) =>
            {
                await using var command = db.Command($"SELECT {EntryColumns} FROM {{s}}.ledger WHERE program = @program AND sequence > @after ORDER BY sequence LIMIT @limit;");
                command.Parameters.Add(Text("program", q.program.Value));
                command.Parameters.AddWithValue("after", q.afterSequence);
                command.Parameters.AddWithValue("limit", q.limit);
                return (IReadOnlyList<EntryRow>)await ReadAllAsync(command, ReadEntry, ct).ConfigureAwait(false);
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            CheckLimit(limit);
            return Run(new SightingsRead(program, fingerprint, until, limit), static async (db, read, ct) =>
            {
                await RunReadsAsync(db, [read], ct).ConfigureAwait(false);
                return read.Result;
            }, cancellationToken);
        }

        public ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default) =>
            Run(participant, static async (db, participant, ct) =>
            {
                await using var command = db.Command("SELECT erasure_id, participant, at, actor, reason FROM {s}.erasures WHERE participant = @participant;");
                command.Parameters.Add(Text("participant", participant.Value));
                var list = await ReadAllAsync(command, static r => new ParticipantErasure(
                    ReadParticipantId(r, 1, "erasures", "participant"),
                    r.GetString(0),
                    ToInstant(r.GetInt64(2)),
                    r.GetString(3),
                    r.GetString(4)), ct).ConfigureAwait(false);
                list.Sort(static (a, b) => CompareByTime(a.At, a.ErasureId, b.At, b.ErasureId));
                return (IReadOnlyList<ParticipantErasure>)list;
            }, cancellationToken);
    }

    /// <summary>
    /// A keyset page of one index in (instant, id) order: the rows matching <paramref name="filter"/> (column names of
    /// <paramref name="table"/>, parameters of the caller) with the instant in [<c>@from</c>, <c>@until</c>], but no later
    /// than the instant of the <c>@limit</c>-th row after <c>@from</c>: every row at the position's instant (whose ids
    /// are compared in .NET) and whole instants after it, enough for a page (<see cref="Page{T}"/>). The bound is an
    /// init plan that walks the same index.
    /// </summary>
    private static string PagedSql(string select, string table, string filter, string time, string id) => $$"""
        SELECT {{select}} FROM {s}.{{table}} o
        WHERE {{filter}} AND {{time}} >= @from AND {{time}} <= coalesce(
            (SELECT {{time}} FROM {s}.{{table}} WHERE {{filter}} AND {{time}} > @from AND {{time}} <= @until ORDER BY {{time}} OFFSET @limit - 1 LIMIT 1),
            @until)
        ORDER BY {{time}}, {{id}};
        """;

    private const string OrderColumns = """
        o.program, o.order_id, o.customer, o.amount, o.currency, o.event_time, o.channel, o.store_id, o.visitor, o.is_new_customer,
        o.presented_code, o.register_id, o.version, o.document, o.credited_referrer, o.credited_code, o.counted_referrer,
        ARRAY(SELECT c.contact FROM {s}.order_contacts c WHERE c.program = o.program AND c.order_id = o.order_id ORDER BY c.ordinal),
        ARRAY(SELECT f.fingerprint FROM {s}.order_fingerprints f WHERE f.program = o.program AND f.order_id = o.order_id ORDER BY f.ordinal)
        """;

    private const string OrderByIdSql = $"SELECT {OrderColumns} FROM {{s}}.orders o WHERE o.program = @program AND o.order_id = @order_id;";

    // The keyset reads (internal, for tests of their plans).
    internal static readonly string OrdersByTimeSql = PagedSql(OrderColumns, "orders", "program = @program", "event_time", "order_id");

    internal static readonly string ProgramTouchesSql = PagedSql(TouchColumns, "touches", "program = @program", "event_time", "id");

    internal static readonly string OrdersByCustomerSql = PagedSql(OrderColumns, "orders", "program = @program AND customer = @key", "event_time", "order_id");

    internal static readonly string ReferralsSql = PagedSql(OrderColumns, "orders", "program = @program AND counted_referrer = @key", "event_time", "order_id");

    internal static readonly string DueRewardsSql = PagedSql(RewardColumns, "rewards", "program = @program AND due = @due", "due_at", "reward_id");

    internal static readonly string BeneficiaryRewardsSql = PagedSql(RewardColumns, "rewards", "program = @program AND beneficiary = @key", "conversion_time", "reward_id");

    internal static readonly string ProgramRewardsSql = PagedSql(RewardColumns, "rewards", "program = @program", "conversion_time", "reward_id");

    // The counts order by the index's instant so that PostgreSQL walks the index and stops at the limit: without the order,
    // for a referrer holding most of a table it may choose a sequential scan that stops only as early as the heap's layout
    // lets it, or a bitmap scan that reads every match before the limit applies.
    internal const string CountTouchesSql = """
        SELECT count(*) FROM (SELECT 1 FROM {s}.touches
        WHERE program = @program AND referrer = @key AND event_time >= @from AND event_time < @until ORDER BY event_time LIMIT @limit) x;
        """;

    internal const string CountCreditedOrdersSql = """
        SELECT count(*) FROM (SELECT 1 FROM {s}.orders
        WHERE program = @program AND credited_referrer = @key AND event_time >= @from AND event_time < @until ORDER BY event_time LIMIT @limit) x;
        """;

    internal static readonly string CountTouchesByHoursSql = CountByHoursSql("touches", "referrer", TouchHours);

    internal static readonly string CountCreditedOrdersByHoursSql = CountByHoursSql("orders", "credited_referrer", CreditedHours);

    /// <summary>
    /// A window's rows counted by the hours it covers whole, added up from <c>referrer_hours</c> (schema version 3), and
    /// the index walked only in its partial hours at the two ends, [from, whole_from) and [whole_until, until): a day's
    /// count reads about 24 rows and at most an hour's index entries whatever the day holds. Sent only for a window that
    /// holds more rows than <see cref="WalkFirst"/> (see <see cref="CountWindow"/>).
    /// </summary>
    private static string CountByHoursSql(string table, string referrer, int kind)
    {
        string rows = $"SELECT 1 FROM {{s}}.{table} WHERE program = @program AND {referrer} = @key";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
            SELECT least(@limit::bigint,
                (SELECT count(*) FROM ({{rows}} AND event_time >= @from AND event_time < @whole_from ORDER BY event_time LIMIT @limit) a)
                + (SELECT coalesce(sum(h.count), 0)::bigint FROM {s}.referrer_hours h
                   WHERE h.program = @program AND h.referrer = @key AND h.kind = {{kind}} AND h.hour >= @first_hour AND h.hour < @end_hour)
                + (SELECT count(*) FROM ({{rows}} AND event_time >= @whole_until AND event_time < @until ORDER BY event_time LIMIT @limit) b));
            """);
    }

    /// <summary>
    /// A velocity count's window: its index is walked first (the plain count, bound <see cref="Walk"/>): most referrers have
    /// a few referrals in a day, and that is their count. Only a window that covers a whole hour or more and holds more
    /// than <see cref="WalkFirst"/> rows is counted again by its hours (<see cref="CountByHoursSql"/>), in a second statement.
    /// </summary>
    private readonly record struct CountWindow(long Start, long End, int Limit)
    {
        // The hours [FirstWhole, EndWhole) lie whole within the window.
        private long FirstWhole => HourOf(Start - 1) + 1;

        private long EndWhole => HourOf(End);

        private bool Hours => EndWhole - FirstWhole >= 1;

        /// <summary>How far the plain count walks: the limit, or <see cref="WalkFirst"/> when hours could count the rest.</summary>
        public int Walk => Hours ? Math.Min(Limit, WalkFirst) : Limit;

        /// <summary>Whether a plain count of <paramref name="walked"/> (bound <see cref="Walk"/>) must be counted by the hours.</summary>
        public bool NeedsHours(long walked) => walked >= Walk && Walk < Limit;

        public static CountWindow Of(Instant from, Instant until, int limit) => new(ToTicks(from), ToTicks(until), limit);

        public void Bind(NpgsqlParameterCollection p, ProgramId program, string? key, bool hours)
        {
            p.Add(Text("program", program.Value));
            p.Add(Text("key", key));
            p.AddWithValue("from", Start);
            p.AddWithValue("until", End);
            p.AddWithValue("limit", hours ? Limit : Walk);
            if (hours)
            {
                p.AddWithValue("first_hour", FirstWhole);
                p.AddWithValue("end_hour", EndWhole);
                p.AddWithValue("whole_from", FirstWhole * TicksPerHour);
                p.AddWithValue("whole_until", EndWhole * TicksPerHour);
            }
        }
    }

    /// <summary>How many index entries a count walks before it adds up hours instead (see <see cref="CountByHoursSql"/>).</summary>
    internal const int WalkFirst = 64;

    // referrer_hours' kinds (schema version 3).
    internal const int TouchHours = 0;
    internal const int CreditedHours = 1;

    internal const long TicksPerHour = 36_000_000_000;

    /// <summary>The UTC hour an event time falls in (floor of the ticks by an hour's, as the version-3 migration computes it).</summary>
    internal static long HourOf(long ticks)
    {
        long hour = Math.DivRem(ticks, TicksPerHour, out long rest);
        return rest < 0 ? hour - 1 : hour;
    }

    /// <summary>
    /// Rows strictly between two instants counted on the index (up to the limit; first row, null order id), then the
    /// order ids at the two instants themselves, which <see cref="CountBetweenAsync"/> compares ordinally.
    /// </summary>
    private static string CountBetweenSql(string filter) => $$"""
        SELECT (SELECT count(*) FROM (SELECT 1 FROM {s}.orders WHERE {{filter}} AND event_time > @from AND event_time < @until ORDER BY event_time LIMIT @limit) x), NULL::text
        UNION ALL
        SELECT event_time, order_id FROM {s}.orders WHERE {{filter}} AND event_time = ANY(@times);
        """;

    internal static readonly string CountReferralsSql = CountBetweenSql("program = @program AND counted_referrer = @key");

    internal static readonly string CountCodeUsesSql = CountBetweenSql("credited_code = @key");

    /// <summary>
    /// A prospect's latest touches by customer, by each visitor id and by each contact hash: per key, the touches down to
    /// the instant of its limit-th latest (whole instants, so the ordinal order of ids can be applied in .NET). Indexed by
    /// the kinds of keys given (1 customer, 2 visitors, 4 contacts): a look-up is left out when it has no keys, because
    /// PostgreSQL plans every branch of the union on each execution (a conversion's usual look-up, by customer alone,
    /// planned ~1.1 ms for all three branches, measured with pg_stat_statements: more than all its other statements).
    /// Not for a prepared statement as it stands: its generic plan hashes the keys and scans every touch of the program.
    /// </summary>
    internal static readonly string[] LatestTouchesSql = [.. Enumerable.Range(0, 8).Select(static keys => string.Join(
        "\nUNION ALL\n",
        new[] { LatestTouches("unnest(@customers)", "customer"), LatestTouches("unnest(@visitors)", "visitor"), LatestTouches("unnest(@contacts)", "contact") }.Where((_, i) => (keys & (1 << i)) != 0)) + ";")];

    /// <summary>
    /// A customer's touches with the customer's visitor links and contacts found by the statement itself (a
    /// <c>CustomerTouchesRead</c>, in the batch that reads the links and contacts too), and the conversion's own.
    /// </summary>
    internal static readonly string CustomerTouchesSql = string.Join(
        "\nUNION ALL\n",
        LatestTouches("(SELECT @customer::text)", "customer"),
        LatestTouches("(SELECT visitor FROM {s}.visitor_links WHERE participant = @customer UNION SELECT unnest(@visitors))", "visitor"),
        LatestTouches("(SELECT contact FROM {s}.participant_contacts WHERE participant = @customer UNION SELECT unnest(@contacts))", "contact")) + ";";

    /// <summary>
    /// The latest <paramref name="limit"/> of touches read by the look-ups of <see cref="LatestTouches"/>: each returned its
    /// latest down to the instant of its limit-th, whole instants, so the latest of all of them are among those; each once,
    /// in the contract's order.
    /// </summary>
    private static List<Touch> LatestTouchesOf(List<Touch> read, int limit)
    {
        var found = new Dictionary<string, Touch>(StringComparer.Ordinal);
        foreach (var touch in read)
        {
            found.TryAdd(touch.Id, touch);
        }
        var list = found.Values.ToList();
        list.Sort(static (a, b) => CompareByTime(b.EventTime, b.Id, a.EventTime, a.Id));
        if (list.Count > limit)
        {
            list.RemoveRange(limit, list.Count - limit);
        }
        return list;
    }

    // OFFSET 0 keeps the lateral subquery a subquery run per key, so the key is a condition of its index scan. Without it
    // PostgreSQL may pull the subquery up into a join of the keys with the touches and, when its statistics say the
    // table is small (a new database, or before autovacuum's first analyze), scan every touch of the program by
    // (program, event_time) and filter the key: seen with auto_explain in the benchmarks (1,400 rows read per look-up
    // after 1,400 conversions, growing with the table).
    private static string LatestTouches(string keys, string column) => $$"""
        SELECT t.* FROM {{keys}} AS k(value)
        CROSS JOIN LATERAL (
            SELECT {{TouchColumns}} FROM {s}.touches
            WHERE program = @program AND {{column}} = k.value AND event_time < @until AND event_time >= coalesce(
                (SELECT event_time FROM {s}.touches
                 WHERE program = @program AND {{column}} = k.value AND event_time >= @from AND event_time < @until
                 ORDER BY event_time DESC OFFSET @limit - 1 LIMIT 1),
                @from)
            OFFSET 0
        ) t
        """;

    /// <summary>
    /// Who registered a fingerprint (null instant), at most the limit in the index's order, then the program's orders that
    /// carried it before the instant, down to the instant of the limit-th latest order (whole instants; an order that
    /// carried it twice counts once).
    /// </summary>
    internal const string SightingsSql = """
        SELECT participant, NULL::bigint, NULL::text FROM (
            SELECT DISTINCT participant FROM {s}.participant_fingerprints WHERE fingerprint = @fingerprint ORDER BY participant LIMIT @limit) r
        UNION ALL
        SELECT customer, event_time, order_id FROM {s}.order_fingerprints
        WHERE program = @program AND fingerprint = @fingerprint AND event_time < @until AND event_time >= coalesce(
            (SELECT d.event_time FROM (SELECT DISTINCT event_time, order_id FROM {s}.order_fingerprints
             WHERE program = @program AND fingerprint = @fingerprint AND event_time < @until
             ORDER BY event_time DESC, order_id DESC OFFSET @limit - 1 LIMIT 1) d),
            @floor);
        """;

    private const string ParticipantColumns = """
        p.id, p.kind, p.masked_email, p.masked_phone,
        ARRAY(SELECT c.contact FROM {s}.participant_contacts c WHERE c.participant = p.id ORDER BY c.ordinal),
        ARRAY(SELECT f.fingerprint FROM {s}.participant_fingerprints f WHERE f.participant = p.id ORDER BY f.ordinal)
        """;

    private const string ParticipantByIdSql = $"SELECT {ParticipantColumns} FROM {{s}}.participants p WHERE p.id = @key;";

    private const string ParticipantsByContactSql = $$"""
        SELECT {{ParticipantColumns}} FROM {s}.participants p
        WHERE p.id IN (SELECT participant FROM {s}.participant_contacts WHERE contact = @key);
        """;

    private const string EntryColumns = "sequence, program, reward_id, entry_id, recorded_at, document";

    private static void CheckLimit(int limit) => ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

    /// <summary>The parameters of <see cref="PagedSql"/>: from the position's instant (inclusive), to <paramref name="until"/>.</summary>
    private static void BindPage(NpgsqlParameterCollection p, ListPosition? after, long until, int limit)
    {
        p.AddWithValue("from", after is { } a ? ToTicks(a.Time) : long.MinValue);
        p.AddWithValue("until", until);
        p.AddWithValue("limit", limit);
    }

    /// <summary>
    /// The rows strictly after <paramref name="after"/> in (instant, ordinal id) order, at most <paramref name="limit"/>,
    /// of rows read whole instant by whole instant (<see cref="PagedSql"/>).
    /// </summary>
    private static List<T> Page<T>(List<(long Time, string Id, T Value)> rows, ListPosition? after, int limit)
    {
        if (after is { } position)
        {
            long afterTime = ToTicks(position.Time);
            rows.RemoveAll(r => r.Time < afterTime || (r.Time == afterTime && string.CompareOrdinal(r.Id, position.Id) <= 0));
        }
        // Stable enough: (instant, id) is a key of every list paged.
        rows.Sort(static (a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : string.CompareOrdinal(a.Id, b.Id));
        var page = new List<T>(Math.Min(rows.Count, limit));
        for (int i = 0; i < rows.Count && i < limit; i++)
        {
            page.Add(rows[i].Value);
        }
        return page;
    }

    private static async ValueTask<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(read(reader));
        }
        return list;
    }

    private static async ValueTask<int> CountInRangeAsync(PgDb db, CountKind kind, ProgramId program, string? key, Instant from, Instant until, int limit, CancellationToken ct)
    {
        if (until <= from)
        {
            return 0;
        }
        var window = CountWindow.Of(from, until, limit);
        long walked;
        await using (var command = db.Command(kind == CountKind.Touches ? CountTouchesSql : CountCreditedOrdersSql))
        {
            window.Bind(command.Parameters, program, key, hours: false);
            walked = (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        return window.NeedsHours(walked) ? await CountByHoursAsync(db, kind, program, key, window, ct).ConfigureAwait(false) : checked((int)walked);
    }

    /// <summary>The second statement of a count whose window holds more than <see cref="WalkFirst"/> rows.</summary>
    private static async ValueTask<int> CountByHoursAsync(PgDb db, CountKind kind, ProgramId program, string? key, CountWindow window, CancellationToken ct)
    {
        await using var command = db.Command(kind == CountKind.Touches ? CountTouchesByHoursSql : CountCreditedOrdersByHoursSql);
        window.Bind(command.Parameters, program, key, hours: true);
        return checked((int)(long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!);
    }

    /// <summary>
    /// How many rows of <paramref name="sql"/> (<see cref="CountBetweenSql"/>) lie strictly between two positions, at
    /// most <paramref name="limit"/>: the instants between them counted on the index, the rows at each end's instant
    /// compared in .NET (ordinal, as every other position).
    /// </summary>
    private static async ValueTask<int> CountBetweenAsync(PgDb db, string sql, ProgramId? program, string? key, ListPosition? after, ListPosition before, int limit, CancellationToken ct)
    {
        if (after is { } a && before.CompareTo(a) <= 0)
        {
            return 0;
        }
        long beforeTime = ToTicks(before.Time);
        long fromTime = after is { } f ? ToTicks(f.Time) : long.MinValue;
        await using var command = db.Command(sql);
        if (program is { } p)
        {
            command.Parameters.Add(Text("program", p.Value));
        }
        command.Parameters.Add(Text("key", key));
        command.Parameters.AddWithValue("from", fromTime);
        command.Parameters.AddWithValue("until", beforeTime);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.AddWithValue("times", after is null || fromTime == beforeTime ? new[] { beforeTime } : new[] { fromTime, beforeTime });
        long count = 0;
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            if (reader.IsDBNull(1))
            {
                count += reader.GetInt64(0);
                continue;
            }
            var at = new ListPosition(ToInstant(reader.GetInt64(0)), reader.GetString(1));
            if ((after is not { } start || at.CompareTo(start) > 0) && at.CompareTo(before) < 0)
            {
                count++;
            }
        }
        return (int)Math.Min(count, limit);
    }

    /// <summary>
    /// The participants a query of <see cref="ParticipantColumns"/> (parameter <c>@key</c>) returns, with their contacts
    /// and fingerprints from the same snapshot, ordered by id (ordinal).
    /// </summary>
    private static async ValueTask<List<Participant>> LoadParticipantsAsync(PgDb db, string sql, string? key, CancellationToken ct)
    {
        await using var command = db.Command(sql);
        command.Parameters.Add(Text("key", key));
        var participants = await ReadAllAsync(command, ReadParticipant, ct).ConfigureAwait(false);
        // .NET ordinal order, like the in-memory store ("C" orders UTF-8 bytes).
        participants.Sort(static (a, b) => string.CompareOrdinal(a.Id.Value, b.Id.Value));
        return participants;
    }

    /// <summary>A participant from a row selecting <see cref="ParticipantColumns"/>.</summary>
    private static Participant ReadParticipant(NpgsqlDataReader r) => new()
    {
        Id = ReadParticipantId(r, 0, "participants", "id"),
        Kind = (ParticipantKind)r.GetInt32(1),
        MaskedEmail = GetNullableString(r, 2),
        MaskedPhone = GetNullableString(r, 3),
        Contacts = Array.ConvertAll(r.GetFieldValue<string[]>(4), static s => ContactHash.TryParse(s, out var h) ? h : throw BadRow("participant_contacts", "contact", s)),
        Fingerprints = Array.ConvertAll(r.GetFieldValue<string[]>(5), static s => Fingerprint.TryParse(s, out var f) ? f : throw BadRow("participant_fingerprints", "fingerprint", s)),
    };

    /// <summary>A code record from a row selecting <see cref="CodeColumns"/> first.</summary>
    private static ReferralCodeRecord ReadCode(NpgsqlDataReader reader, string table) => new(
        code: ReadReferralCode(reader, 0, table, "code"),
        display: reader.GetString(1),
        program: ReadProgramId(reader, 2, table, "program"),
        owner: reader.IsDBNull(3) ? null : ReadParticipantId(reader, 3, table, "owner"),
        medium: (ShareMedium)reader.GetInt32(4),
        kind: (CodeKind)reader.GetInt32(5),
        status: (CodeStatus)reader.GetInt32(6),
        createdAt: ToInstant(reader.GetInt64(7)),
        expiresAt: reader.IsDBNull(8) ? null : ToInstant(reader.GetInt64(8)),
        maxUses: reader.IsDBNull(9) ? null : reader.GetInt32(9),
        uses: reader.GetInt32(10),
        version: reader.GetInt64(11));

    /// <summary>A touch from a row selecting <see cref="TouchColumns"/>.</summary>
    private static Touch ReadTouch(NpgsqlDataReader reader) => new(
        id: reader.GetString(0),
        program: ReadProgramId(reader, 1, "touches", "program"),
        kind: (TouchKind)reader.GetInt32(2),
        referrer: ReadParticipantId(reader, 3, "touches", "referrer"),
        code: reader.IsDBNull(4) ? null : ReadReferralCode(reader, 4, "touches", "code"),
        medium: (ShareMedium)reader.GetInt32(5),
        visitorId: GetNullableString(reader, 6),
        customer: reader.IsDBNull(7) ? null : ReadParticipantId(reader, 7, "touches", "customer"),
        contact: reader.IsDBNull(8) ? null : ReadContact(reader.GetString(8), "touches", "contact"),
        storeId: GetNullableString(reader, 9),
        registerId: GetNullableString(reader, 10),
        orderId: GetNullableString(reader, 11),
        eventTime: ToInstant(reader.GetInt64(12)),
        recordedAt: ToInstant(reader.GetInt64(13)));

    /// <summary>An order row from a row selecting <see cref="OrderColumns"/>.</summary>
    private static OrderRow ReadOrder(NpgsqlDataReader reader)
    {
        var conversion = new Conversion
        {
            Program = ReadProgramId(reader, 0, "orders", "program"),
            OrderId = reader.GetString(1),
            Customer = ReadParticipantId(reader, 2, "orders", "customer"),
            Amount = ReadMoney(reader, 3, 4, "orders"),
            EventTime = ToInstant(reader.GetInt64(5)),
            Channel = (Channel)reader.GetInt32(6),
            StoreId = GetNullableString(reader, 7),
            VisitorId = GetNullableString(reader, 8),
            IsNewCustomer = reader.IsDBNull(9) ? null : reader.GetBoolean(9),
            PresentedCode = GetNullableString(reader, 10),
            RegisterId = GetNullableString(reader, 11),
            Contacts = Array.ConvertAll(reader.GetFieldValue<string[]>(17), static s => ReadContact(s, "order_contacts", "contact")),
            Fingerprints = Array.ConvertAll(reader.GetFieldValue<string[]>(18), static s => Fingerprint.TryParse(s, out var f) ? f : throw BadRow("order_fingerprints", "fingerprint", s)),
        };
        return new OrderRow(
            conversion,
            reader.GetInt64(12),
            reader.GetString(13),
            reader.IsDBNull(14) ? null : ReadParticipantId(reader, 14, "orders", "credited_referrer"),
            reader.IsDBNull(15) ? null : ReadReferralCode(reader, 15, "orders", "credited_code"),
            reader.IsDBNull(16) ? null : ReadParticipantId(reader, 16, "orders", "counted_referrer"));
    }

    /// <summary>A reward row from a row selecting <see cref="RewardColumns"/>.</summary>
    private static RewardRow ReadReward(NpgsqlDataReader reader) => new(
        ReadProgramId(reader, 0, "rewards", "program"),
        reader.GetString(1),
        ReadParticipantId(reader, 2, "rewards", "beneficiary"),
        reader.GetString(3),
        ToInstant(reader.GetInt64(4)),
        reader.GetInt64(5),
        reader.IsDBNull(6) ? null : (RewardDue)reader.GetInt32(6),
        reader.IsDBNull(7) ? null : ToInstant(reader.GetInt64(7)),
        reader.GetString(8));

    /// <summary>A ledger entry with its sequence from a row selecting <see cref="EntryColumns"/>.</summary>
    private static EntryRow ReadEntry(NpgsqlDataReader reader) => new(
        ReadProgramId(reader, 1, "ledger", "program"),
        reader.GetString(2),
        reader.GetString(3),
        ToInstant(reader.GetInt64(4)),
        reader.GetString(5),
        reader.GetInt64(0));

    /// <summary>A refund from a row selecting program, order_id, refund_id, amount, currency, event_time, is_chargeback.</summary>
    private static Refund ReadRefund(NpgsqlDataReader reader) => new()
    {
        Program = ReadProgramId(reader, 0, "refunds", "program"),
        OrderId = reader.GetString(1),
        RefundId = reader.GetString(2),
        Amount = ReadMoney(reader, 3, 4, "refunds"),
        EventTime = ToInstant(reader.GetInt64(5)),
        IsChargeback = reader.GetBoolean(6),
    };

    private static Money ReadMoney(NpgsqlDataReader reader, int amountOrdinal, int currencyOrdinal, string table)
    {
        decimal amount;
        try
        {
            amount = reader.GetDecimal(amountOrdinal);
        }
        catch (Exception e) when (e is OverflowException or InvalidCastException)
        {
            throw BadRow(table, "amount", "a number out of the range of decimal");
        }
        string currency = reader.GetString(currencyOrdinal);
        try
        {
            return new Money(amount, currency);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, "currency", currency);
        }
    }

    private static ProgramId ReadProgramId(NpgsqlDataReader reader, int ordinal, string table, string column)
    {
        string value = reader.GetString(ordinal);
        try
        {
            return new ProgramId(value);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, column, value);
        }
    }

    private static ParticipantId ReadParticipantId(NpgsqlDataReader reader, int ordinal, string table, string column) =>
        ParseParticipantId(reader.GetString(ordinal), table, column);

    private static ParticipantId ParseParticipantId(string value, string table, string column)
    {
        try
        {
            return new ParticipantId(value);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, column, value);
        }
    }

    private static ReferralCode ReadReferralCode(NpgsqlDataReader reader, int ordinal, string table, string column)
    {
        string stored = reader.GetString(ordinal);
        // Folding is idempotent, so a normalised code parses to itself; anything else was not written by this store.
        if (!ReferralCode.TryParse(stored, out var code) || code.Value != stored)
        {
            throw BadRow(table, column, stored);
        }
        return code;
    }

    private static ContactHash ReadContact(string stored, string table, string column) =>
        ContactHash.TryParse(stored, out var hash) ? hash : throw BadRow(table, column, stored);

    private static string? GetNullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>By instant, then key in .NET ordinal order: how the in-memory store orders touches, orders and erasures.</summary>
    private static int CompareByTime(Instant t1, string k1, Instant t2, string k2)
    {
        int c = t1.CompareTo(t2);
        return c != 0 ? c : string.CompareOrdinal(k1, k2);
    }

    private static InvalidDataException BadRow(string table, string column, string? value) =>
        new($"The PostgreSQL table '{table}' holds '{value}' in column '{column}', which cannot be read back; was it edited by hand or written by another program?");
}
