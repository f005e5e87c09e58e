using System.Globalization;
using Npgsql;

namespace Referrals.Benchmarks;

/// <summary>
/// What the database work of one conversion costs on its own: the rows a real conversion of the run wrote (its order, its
/// touch, its two rewards, their two ledger entries and the two summaries), copied with new keys and written again by
/// hand-written SQL — the store's own statements, all of them in <b>one</b> batch (one round trip, one implicit
/// transaction, one durable commit) and with no engine deciding anything. Variants: the writes alone; the writes into
/// copies of the tables with primary keys only; the writes after the reads a conversion makes before deciding (the same
/// statements the store sends, the touch history read simplified to the customer's touches, so cheaper than the store's);
/// and those reads and writes sent in the conversion's three round trips. None can be beaten by a store that keeps these
/// rows (and, but for the second, these indexes); the ratio of the conversion to them is what the engine, the store and
/// the round trips add.
/// </summary>
/// <remarks>
/// The templates are read after the run's warm-up conversions (the benchmark's own database); keys are made unique per
/// operation (<c>floor-n-…</c>), times moved on with n, documents kept as they are (their size is what counts). The copy
/// writes fresh keys where a real conversion often finds rows that exist (its referrer's summaries), so it is, if anything,
/// cheaper than the database's share of a real conversion.
/// </remarks>
internal sealed class PostgreSqlSameRows
{
    private const string S = "\"referrals\"";

    private readonly List<Row> _rows;
    private readonly string _program;
    private readonly string _orderId, _customer, _referrer;
    private int _next;

    private PostgreSqlSameRows(List<Row> rows, string program, string orderId, string customer, string referrer)
    {
        (_rows, _program, _orderId, _customer, _referrer) = (rows, program, orderId, customer, referrer);
    }

    /// <summary>A template row: its table, its columns and the values the real conversion wrote.</summary>
    private sealed record Row(string Table, string Conflict, string[] Columns, object[] Values);

    /// <summary>Reads the rows of the latest attributed, double-sided conversion on <paramref name="connection"/>.</summary>
    public static async Task<PostgreSqlSameRows> CaptureAsync(NpgsqlConnection connection)
    {
        var order = await ReadAsync(connection, "orders", "program, order_id",
            $"SELECT * FROM {S}.orders o WHERE credited_referrer IS NOT NULL AND (SELECT count(*) FROM {S}.rewards r WHERE r.program = o.program AND r.order_id = o.order_id) = 2 ORDER BY event_time DESC LIMIT 1").ConfigureAwait(false);
        var o = order.Single();
        string program = (string)Value(o, "program"), orderId = (string)Value(o, "order_id");
        string customer = (string)Value(o, "customer"), referrer = (string)Value(o, "credited_referrer");
        var rows = new List<Row> { o };
        rows.AddRange(await ReadAsync(connection, "touches", "program, id",
            $"SELECT * FROM {S}.touches WHERE program = @p AND customer = @c ORDER BY event_time DESC LIMIT 1", ("p", program), ("c", customer)).ConfigureAwait(false));
        var rewards = await ReadAsync(connection, "rewards", "program, reward_id",
            $"SELECT * FROM {S}.rewards WHERE program = @p AND order_id = @o ORDER BY reward_id", ("p", program), ("o", orderId)).ConfigureAwait(false);
        rows.AddRange(rewards);
        rows.AddRange(await ReadAsync(connection, "ledger", "program, reward_id, entry_id",
            $"SELECT program, reward_id, entry_id, recorded_at, document FROM {S}.ledger WHERE program = @p AND reward_id = ANY(@r) ORDER BY sequence",
            ("p", program), ("r", rewards.Select(r => (string)Value(r, "reward_id")).ToArray())).ConfigureAwait(false));
        rows.AddRange(await ReadAsync(connection, "summaries", "program, participant, key",
            $"SELECT * FROM {S}.summaries WHERE program = @p AND participant = ANY(@ps) ORDER BY participant, key",
            ("p", program), ("ps", new[] { customer, referrer })).ConfigureAwait(false));
        // The same tables without their secondary indexes, for the writes with primary keys only.
        var create = new System.Text.StringBuilder($"CREATE SCHEMA IF NOT EXISTS {KeysOnly};");
        foreach (var table in rows.GroupBy(r => r.Table))
        {
            create.Append(CultureInfo.InvariantCulture, $"CREATE TABLE IF NOT EXISTS {KeysOnly}.{table.Key} (LIKE {S}.{table.Key} INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY ({table.First().Conflict}));");
        }
        // The one row per conversion of the least design (see PrepareLeastAsync).
        create.Append(CultureInfo.InvariantCulture, $"CREATE TABLE IF NOT EXISTS {KeysOnly}.events (program text COLLATE \"C\" NOT NULL, order_id text COLLATE \"C\" NOT NULL, customer text NOT NULL, referrer text NOT NULL, event_time bigint NOT NULL, document text NOT NULL, PRIMARY KEY (program, order_id));");
        await using (var command = new NpgsqlCommand(create.ToString(), connection))
        {
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        return new PostgreSqlSameRows(rows, program, orderId, customer, referrer);
    }

    private const string KeysOnly = "\"floor_keys_only\"";

    /// <summary>What was captured, for the run's log.</summary>
    public string Describe() =>
        string.Join(", ", _rows.GroupBy(r => r.Table).Select(g => $"{g.Count()} {g.Key} ({g.Sum(r => r.Values.Sum(v => v is string s ? s.Length : 8)) / g.Count()} bytes of values each)"));

    /// <summary>
    /// A batch for one connection, prepared: the rows' inserts, after the conversion's reads when <paramref name="reads"/>.
    /// </summary>
    /// <remarks>
    /// With <paramref name="split"/> (reads only) the batch goes as a conversion's does, for comparison: an explicit
    /// transaction, the reads, then a savepoint and the writes, then the commit — three round trips, still no engine.
    /// </remarks>
    public async Task<Batch> PrepareAsync(NpgsqlConnection connection, bool reads, bool primaryKeysOnly = false, bool split = false)
    {
        string into = primaryKeysOnly ? KeysOnly : S;
        var first = new NpgsqlBatch(connection);
        var batch = first;
        var keys = new List<(NpgsqlParameter Parameter, Func<int, object> Value)>();
        void Add(string sql, params object[] values) => AddCommand(batch, keys, sql, values);
        Func<int, object> Key(string template) => n => Map(template, n);

        if (reads)
        {
            // The store's reads, in its order: the order's lock and look-up, its refunds, both participants, the
            // customer's visitors and touches (simplified), the two fraud counts, the summaries' locks and rows.
            Add("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)");
            Add("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", Key("lock:" + _orderId), 0L);
            Add($"SELECT o.program, o.order_id, o.customer, o.amount, o.currency, o.event_time, o.channel, o.store_id, o.visitor, o.is_new_customer, o.presented_code, o.register_id, o.version, o.document, o.credited_referrer, o.credited_code, o.counted_referrer, ARRAY(SELECT c.contact FROM {S}.order_contacts c WHERE c.program = o.program AND c.order_id = o.order_id ORDER BY c.ordinal), ARRAY(SELECT f.fingerprint FROM {S}.order_fingerprints f WHERE f.program = o.program AND f.order_id = o.order_id ORDER BY f.ordinal) FROM {S}.orders o WHERE o.program = $1 AND o.order_id = $2", _program, Key(_orderId));
            Add($"SELECT program, order_id, refund_id, amount, currency, event_time, is_chargeback FROM {S}.refunds WHERE program = $1 AND order_id = $2 ORDER BY sequence", _program, Key(_orderId));
            foreach (string participant in new[] { _customer, _referrer })
            {
                Add($"SELECT p.id, p.kind, p.masked_email, p.masked_phone, ARRAY(SELECT c.contact FROM {S}.participant_contacts c WHERE c.participant = p.id ORDER BY c.ordinal), ARRAY(SELECT f.fingerprint FROM {S}.participant_fingerprints f WHERE f.participant = p.id ORDER BY f.ordinal) FROM {S}.participants p WHERE p.id = $1", Key(participant));
            }
            Add($"SELECT visitor FROM {S}.visitor_links WHERE participant = $1", Key(_customer));
            Add($"SELECT id, program, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at FROM {S}.touches WHERE program = $1 AND customer = $2 AND event_time < $3 ORDER BY event_time DESC LIMIT 100", _program, Key(_customer), long.MaxValue);
            Add($"SELECT count(*) FROM (SELECT 1 FROM {S}.orders WHERE program = $1 AND credited_referrer = $2 AND event_time >= $3 AND event_time < $4 ORDER BY event_time LIMIT $5) x", _program, Key(_referrer), 0L, long.MaxValue, 1000);
            Add($"SELECT count(*) FROM (SELECT 1 FROM {S}.touches WHERE program = $1 AND referrer = $2 AND event_time >= $3 AND event_time < $4 ORDER BY event_time LIMIT $5) x", _program, Key(_referrer), 0L, long.MaxValue, 1000);
            foreach (string participant in new[] { _customer, _referrer })
            {
                var summaryKeys = _rows.Where(r => r.Table == "summaries" && (string)Value(r, "participant") == participant).Select(r => (string)Value(r, "key")).ToArray();
                Add("SELECT pg_advisory_xact_lock(hashtextextended($1 || k, $3)) FROM unnest($2) AS k ORDER BY k", Key("summary:" + participant + ":"), summaryKeys, 0L);
                Add($"SELECT key, version, document FROM {S}.summaries WHERE program = $1 AND participant = $2 AND key = ANY($3) ORDER BY key FOR UPDATE", _program, Key(participant), summaryKeys);
            }
        }
        NpgsqlBatch? writes = null;
        if (split && reads)
        {
            await first.PrepareAsync().ConfigureAwait(false);
            writes = batch = new NpgsqlBatch(connection);
            Add("SAVEPOINT floor_unit");
        }
        foreach (var row in _rows)
        {
            string columns = string.Join(", ", row.Columns);
            string parameters = string.Join(", ", row.Columns.Select((_, i) => "$" + (i + 1).ToString(CultureInfo.InvariantCulture)));
            Add($"INSERT INTO {into}.{row.Table} ({columns}) VALUES ({parameters}) ON CONFLICT ({row.Conflict}) DO NOTHING",
                [.. row.Values.Select((v, i) => v is string text && Mapped(text) ? Key(text) : IsTime(row.Columns[i]) && v is long t ? (Func<int, object>)(n => t + n * 1_000_000_000L) : v)]);
        }
        await batch.PrepareAsync().ConfigureAwait(false);
        return new Batch(first, writes, keys, this);
    }

    /// <summary>
    /// The least any store design can cost that reads before it decides and keeps what it decided, prepared for one
    /// connection: two round trips — <c>BEGIN</c>, the customer's touches (the store's table and index, simplified as in
    /// <see cref="PrepareAsync"/>) and the referrer's state row locked; then <b>one</b> event row holding the whole decision
    /// (the order's, both rewards' and both ledger entries' documents in one text) and the referrer's state row upserted,
    /// and <c>COMMIT</c> in the same batch — into tables with primary keys only.
    /// </summary>
    /// <remarks>
    /// Not a design to build (it drops the fraud checks' reads, the rewards' and the ledger's own rows and every index the
    /// store's reads use): a floor. If even this is above a target, no store on this machine meets that target.
    /// </remarks>
    public async Task<Batch> PrepareLeastAsync(NpgsqlConnection connection)
    {
        var keys = new List<(NpgsqlParameter Parameter, Func<int, object> Value)>();
        var reads = new NpgsqlBatch(connection);
        var writes = new NpgsqlBatch(connection);
        void Add(NpgsqlBatch batch, string sql, params object[] values) => AddCommand(batch, keys, sql, values);
        Func<int, object> Key(string template) => n => Map(template, n);
        var order = _rows.Single(r => r.Table == "orders");
        long eventTime = (long)Value(order, "event_time");
        string document = string.Concat(_rows.Where(r => r.Table is "orders" or "rewards" or "ledger").Select(r => (string)Value(r, "document")));
        var state = _rows.First(r => r.Table == "summaries" && (string)Value(r, "participant") == _referrer);

        Add(reads, "BEGIN ISOLATION LEVEL READ COMMITTED");
        Add(reads, $"SELECT id, program, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at FROM {S}.touches WHERE program = $1 AND customer = $2 AND event_time < $3 ORDER BY event_time DESC LIMIT 100", _program, Key(_customer), long.MaxValue);
        Add(reads, $"SELECT version, document FROM {KeysOnly}.summaries WHERE program = $1 AND participant = $2 AND key = $3 FOR UPDATE", _program, Key(_referrer), (string)Value(state, "key"));
        Add(writes, $"INSERT INTO {KeysOnly}.events (program, order_id, customer, referrer, event_time, document) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (program, order_id) DO NOTHING",
            _program, Key(_orderId), Key(_customer), Key(_referrer), (Func<int, object>)(n => eventTime + n * 1_000_000_000L), document);
        Add(writes, $"INSERT INTO {KeysOnly}.summaries (program, participant, key, version, document) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (program, participant, key) DO UPDATE SET version = excluded.version, document = excluded.document",
            _program, Key(_referrer), (string)Value(state, "key"), (long)Value(state, "version"), (string)Value(state, "document"));
        Add(writes, "COMMIT");
        await reads.PrepareAsync().ConfigureAwait(false);
        await writes.PrepareAsync().ConfigureAwait(false);
        return new Batch(reads, writes, keys, this, expected: 2, rawTransaction: true);
    }

    /// <summary>
    /// Adds a statement with positional parameters to <paramref name="batch"/>; a value given as a function of the
    /// operation's number is a key, set again before each execution (<see cref="Batch.ExecuteAsync"/>).
    /// </summary>
    private static void AddCommand(NpgsqlBatch batch, List<(NpgsqlParameter Parameter, Func<int, object> Value)> keys, string sql, object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var v in values)
        {
            var parameter = new NpgsqlParameter { Value = v is Func<int, object> f ? f(0) : v };
            if (v is Func<int, object> key)
            {
                keys.Add((parameter, key));
            }
            command.Parameters.Add(parameter);
        }
        batch.BatchCommands.Add(command);
    }

    /// <summary>A prepared batch; each <see cref="ExecuteAsync"/> writes the rows again under new keys.</summary>
    public sealed class Batch(NpgsqlBatch batch, NpgsqlBatch? writes, List<(NpgsqlParameter Parameter, Func<int, object> Value)> keys, PostgreSqlSameRows owner, int expected = -1, bool rawTransaction = false)
    {
        public async Task<int> ExecuteAsync()
        {
            int n = Interlocked.Increment(ref owner._next);
            foreach (var (parameter, value) in keys)
            {
                parameter.Value = value(n);
            }
            if (rawTransaction)
            {
                // BEGIN and COMMIT travel in the batches themselves: two round trips in all.
                await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
                await writes!.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            else if (writes is not null)
            {
                await using var transaction = await batch.Connection!.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted).ConfigureAwait(false);
                batch.Transaction = writes.Transaction = transaction;
                await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
                await writes.ExecuteNonQueryAsync().ConfigureAwait(false);
                await transaction.CommitAsync().ConfigureAwait(false);
            }
            else
            {
                await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            int written = 0;
            foreach (var command in (writes ?? batch).BatchCommands)
            {
                written += command.CommandText.StartsWith("INSERT", StringComparison.Ordinal) ? command.RecordsAffected : 0;
            }
            int rows = expected >= 0 ? expected : owner._rows.Count;
            if (written != rows)
            {
                throw new InvalidOperationException($"The same-rows batch wrote {written} rows, not {rows}.");
            }
            return written;
        }

        public void Dispose()
        {
            batch.Dispose();
            writes?.Dispose();
        }
    }

    // The keys of the conversion are replaced per operation; so are the reward and entry ids and the touch id.
    private bool Mapped(string value) =>
        value == _orderId || value == _customer || value == _referrer || _rows.Any(r => r.Table is "rewards" or "ledger" or "touches" && IdOf(r) == value)
        || value.StartsWith("lock:", StringComparison.Ordinal) || value.StartsWith("summary:", StringComparison.Ordinal);

    private static string? IdOf(Row r) => r.Table switch
    {
        "rewards" => (string)Value(r, "reward_id"),
        "ledger" => (string)Value(r, "entry_id"),
        "touches" => (string)Value(r, "id"),
        _ => null,
    };

    private static string Map(string value, int n) => "floor-" + n.ToString(CultureInfo.InvariantCulture) + "-" + value;

    private static bool IsTime(string column) => column is "event_time" or "recorded_at" or "conversion_time" or "due_at";

    private static object Value(Row row, string column) => row.Values[Array.IndexOf(row.Columns, column)];

    private static async Task<List<Row>> ReadAsync(NpgsqlConnection connection, string table, string conflict, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var rows = new List<Row>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var columns = new List<string>();
            var values = new List<object>();
            for (int i = 0; i < reader.FieldCount; i++)
            {
                if (reader.GetName(i) == "sequence")
                {
                    continue; // the ledger's identity column: the server numbers it
                }
                columns.Add(reader.GetName(i));
                values.Add(reader.GetValue(i));
            }
            rows.Add(new Row(table, conflict, [.. columns], [.. values]));
        }
        if (rows.Count == 0)
        {
            throw new InvalidOperationException($"No template row in {table}: the run has no conversion to copy.");
        }
        return rows;
    }
}
