using Npgsql;
using NpgsqlTypes;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    // SQLSTATEs that mean "another transaction holds what this one needs": reported as a conflict of the unit, which is
    // rolled back to its savepoint (the session stays usable; Core reads again and decides again).
    private static bool IsContention(PostgresException e) =>
        e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable;

    /// <summary>
    /// A session (see the class remarks): the reads and units run on one connection inside its transaction; each unit is a
    /// batch under a savepoint.
    /// </summary>
    private sealed class ContractSession(PgDb db) : ContractReader, IReferralStoreSession, IBatchReader
    {
        private bool _ended;
        private bool _committed;
        private bool _disposed;
        private Exception? _failure;
        // The last written unit's savepoint, released with the next unit's batch (no round trip of its own); each unit
        // has a savepoint of its own name, so rolling one back can never reach an earlier unit.
        private string? _releasePending;
        private int _units;

        private PgDb Open()
        {
            if (_ended)
            {
                throw new InvalidOperationException(_disposed ? "The session was disposed." : "The session was committed; begin a new one.");
            }
            if (_failure is NpgsqlException failure)
            {
                // Still a database error, transient when the first one was: a caller that let the first one pass (Core
                // logs a fraud check that throws and goes on) gets one it knows to retry, not a programmer error.
                throw new NpgsqlException("A read or unit of this session failed with a database error (the inner exception); the session can only be disposed, which rolls it back.", failure);
            }
            if (_failure is not null)
            {
                throw new InvalidOperationException("A read or unit of this session failed or was cancelled; the session can only be disposed, which rolls it back.", _failure);
            }
            return db;
        }

        protected override async ValueTask<T> Run<TState, T>(TState state, Func<PgDb, TState, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
        {
            var session = Open();
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await read(session, state, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException e)
            {
                _failure = e;
                throw;
            }
            catch (OperationCanceledException e)
            {
                // A cancelled statement aborts the transaction: nothing but a rollback is left.
                _failure = e;
                throw;
            }
        }

        /// <summary>Several reads in one round trip (see <see cref="RunReadsAsync"/>).</summary>
        public async ValueTask ReadAsync(IReadOnlyList<StoreRead> reads, CancellationToken ct) =>
            _ = await Run(reads, static async (db, r, ct) =>
            {
                await RunReadsAsync(db, r, ct).ConfigureAwait(false);
                return 0;
            }, ct).ConfigureAwait(false);

        public async ValueTask<WriteOutcome> WriteAsync(UnitOfWork unit, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(unit);
            unit.ThrowIfInvalid();
            var session = Open();
            cancellationToken.ThrowIfCancellationRequested();
            string savepoint = "referrals_unit_" + (++_units).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var plan = new UnitPlan(session);
            if (_releasePending is { } release)
            {
                plan.Add("RELEASE SAVEPOINT " + release + ";");
                _releasePending = null;
            }
            plan.Add("SAVEPOINT " + savepoint + ";");
            plan.AddUnit(unit);
            WriteOutcome outcome;
            try
            {
                // Cancellation is honoured up to here: once the unit is sent it runs to its end (a unit is short; a lock
                // wait ends when the other transaction does), so a cancelled unit never leaves half a savepoint behind.
                outcome = await plan.ExecuteAsync(CancellationToken.None).ConfigureAwait(false);
                if (outcome.Status == WriteStatus.Written && unit.Erasures.Count > 0)
                {
                    foreach (var erasure in unit.Erasures)
                    {
                        if (await EraseAsync(session, erasure, CancellationToken.None).ConfigureAwait(false) is { } stop)
                        {
                            outcome = stop;
                            break;
                        }
                    }
                }
            }
            catch (PostgresException e) when (IsContention(e))
            {
                await RollBackUnitAsync(session, savepoint, e).ConfigureAwait(false);
                return WriteOutcome.Conflict(plan.KindOf(e.BatchCommand), plan.KeyOf(e.BatchCommand) ?? e.SqlState);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                _failure ??= e;
                throw;
            }
            if (outcome.Status == WriteStatus.Written)
            {
                _releasePending = savepoint;
                plan.KeepLocks();
            }
            else
            {
                await RollBackUnitAsync(session, savepoint, null).ConfigureAwait(false);
            }
            return outcome;
        }

        /// <summary>Rolls the unit back to its savepoint; when even that fails (the connection is gone), the session is doomed.</summary>
        private async ValueTask RollBackUnitAsync(PgDb session, string savepoint, Exception? cause)
        {
            try
            {
                await using var command = session.Command($"ROLLBACK TO SAVEPOINT {savepoint}; RELEASE SAVEPOINT {savepoint};");
                await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                _failure ??= cause ?? e;
            }
        }

        public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            var session = Open();
            cancellationToken.ThrowIfCancellationRequested();
            _ended = true;
            await session.Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _ended = true;
            try
            {
                if (!_committed && db.Connection.FullState == System.Data.ConnectionState.Open)
                {
                    await db.Transaction!.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The connection broke: the server rolls the transaction back itself.
            }
            finally
            {
                await db.Transaction!.DisposeAsync().ConfigureAwait(false);
                await db.Connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A unit of work as one batch: its statements in the order of the unit's lists, each with what a row count of 0
    /// (or, for a version check, anything but 1) means. Executed in one round trip; the first statement, in list order,
    /// whose count says so names the row that stopped the unit.
    /// </summary>
    private sealed class UnitPlan(PgDb db)
    {
        private readonly NpgsqlBatch _batch = new(db.Connection, db.Transaction);
        private readonly List<Expect> _expects = [];
        // The advisory lock keys this unit takes (each once).
        private HashSet<string>? _locked;
        private bool _codesWritten;
        // The codes of the one statement inserting a unit's new codes together (AddNewCodes), in list order, and its index.
        private string[]? _newCodes;
        private int _newCodesAt = -1;

        // Rows: what the statement must count (1 but for the new codes' statement, which counts its codes).
        private readonly record struct Expect(WriteStatus OnZero, RowKind Kind, string? Key, int Rows = 1);

        public void Add(string template) => Add(template, default, default, null);

        private NpgsqlParameterCollection Add(string template, WriteStatus onZero, RowKind kind, string? key)
        {
            var command = db.BatchCommand(template);
            _batch.BatchCommands.Add(command);
            _expects.Add(new Expect(onZero, kind, key));
            return command.Parameters;
        }


        public RowKind KindOf(NpgsqlBatchCommand? command)
        {
            int i = command is null ? -1 : _batch.BatchCommands.IndexOf(command);
            return i >= 0 && _expects[i].Kind != 0 ? _expects[i].Kind : RowKind.Summary;
        }

        public string? KeyOf(NpgsqlBatchCommand? command)
        {
            int i = command is null ? -1 : _batch.BatchCommands.IndexOf(command);
            return i >= 0 ? _expects[i].Key : null;
        }

        public async ValueTask<WriteOutcome> ExecuteAsync(CancellationToken ct)
        {
            if (_codesWritten)
            {
                var p = Add("SELECT pg_notify('" + CodeChannel + "', @schema);", default, default, null);
                p.AddWithValue("schema", db.Store.Schema);
            }
            await using (_batch)
            {
                await _batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                for (int i = 0; i < _expects.Count; i++)
                {
                    var expect = _expects[i];
                    // Rows, not RecordsAffected: that one is -1 for a SELECT (the version checks of rows only read).
                    if (expect.OnZero != 0 && _batch.BatchCommands[i].Rows != (ulong)expect.Rows)
                    {
                        if (i == _newCodesAt)
                        {
                            return WriteOutcome.Duplicate(RowKind.Code, await FirstDuplicateCodeAsync(ct).ConfigureAwait(false));
                        }
                        return expect.OnZero == WriteStatus.Duplicate
                            ? WriteOutcome.Duplicate(expect.Kind, expect.Key!)
                            : WriteOutcome.Conflict(expect.Kind, expect.Key!);
                    }
                }
            }
            return WriteOutcome.Written;
        }

        /// <summary>The advisory lock of a row's key, which a check of its absence and every insert of it take.</summary>
        private void LockKey(RowKind kind, string rowKey, string lockKey) =>
            Lock(kind, rowKey, db.Store.Schema + "/" + kind.ToString() + "/" + lockKey);

        private void LockSummary(SummaryRow row) =>
            Lock(RowKind.Summary, row.Participant.Value + "/" + row.Key, SummaryLockPrefix(db.Store.Schema, row.Program, row.Participant) + row.Key);

        /// <summary>
        /// Takes an advisory lock unless the transaction holds it already (taken by the session's reads, an earlier written
        /// unit or this unit): a statement fewer, the same serialisation.
        /// </summary>
        private void Lock(RowKind kind, string rowKey, string key)
        {
            if (db.HoldsLock(key) || !(_locked ??= new(StringComparer.Ordinal)).Add(key))
            {
                return;
            }
            // No count to check: a wait that deadlocks names the row it guards.
            var p = Add("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0));", default, kind, rowKey);
            p.AddWithValue("key", key);
        }

        /// <summary>The unit was written (its savepoint is never rolled back): its locks are the transaction's from now on.</summary>
        public void KeepLocks()
        {
            if (_locked is not null)
            {
                db.LockedKeys.UnionWith(_locked);
            }
        }

        public void AddUnit(UnitOfWork unit)
        {
            foreach (var read in unit.ReadSummaries)
            {
                string key = read.Participant.Value + "/" + read.Key;
                if (read.Version == 0)
                {
                    LockSummary(read);
                }
                var p = Add(read.Version == 0
                    ? "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {s}.summaries WHERE program = @program AND participant = @participant AND key = @key);"
                    : "SELECT 1 FROM {s}.summaries WHERE program = @program AND participant = @participant AND key = @key AND version = @version FOR UPDATE;",
                    WriteStatus.Conflict, RowKind.Summary, key);
                p.AddWithValue("program", read.Program.Value);
                p.AddWithValue("participant", read.Participant.Value);
                p.AddWithValue("key", read.Key);
                if (read.Version != 0)
                {
                    p.AddWithValue("version", read.Version);
                }
            }
            foreach (var read in unit.ReadOrders)
            {
                var c = read.Conversion;
                if (read.Version == 0)
                {
                    LockKey(RowKind.Order, c.OrderId, c.Program.Value + "/" + c.OrderId);
                }
                var p = Add(read.Version == 0
                    ? "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {s}.orders WHERE program = @program AND order_id = @order_id);"
                    : "SELECT 1 FROM {s}.orders WHERE program = @program AND order_id = @order_id AND version = @version FOR UPDATE;",
                    WriteStatus.Conflict, RowKind.Order, c.OrderId);
                p.AddWithValue("program", c.Program.Value);
                p.AddWithValue("order_id", c.OrderId);
                if (read.Version != 0)
                {
                    p.AddWithValue("version", read.Version);
                }
            }
            if (unit.Codes.Count > 1 && unit.Codes.All(static r => r.Record.Version == 1))
            {
                AddNewCodes(unit.Codes);
            }
            else
            {
                foreach (var row in unit.Codes)
                {
                    AddCode(row);
                }
            }
            foreach (var participant in unit.Participants)
            {
                AddParticipant(participant);
            }
            foreach (var link in unit.VisitorLinks)
            {
                var p = Add("INSERT INTO {s}.visitor_links (participant, visitor) VALUES (@participant, @visitor) ON CONFLICT DO NOTHING;", default, default, null);
                p.AddWithValue("participant", link.Customer.Value);
                p.AddWithValue("visitor", link.Visitor);
            }
            foreach (var t in unit.Touches)
            {
                var p = Add($$"""
                    INSERT INTO {s}.touches ({{TouchColumns}})
                    VALUES (@id, @program, @kind, @referrer, @code, @medium, @visitor, @customer, @contact, @store_id, @register_id, @order_id, @event_time, @recorded_at)
                    ON CONFLICT (program, id) DO NOTHING;
                    """, WriteStatus.Duplicate, RowKind.Touch, t.Id);
                p.AddWithValue("id", t.Id);
                p.AddWithValue("program", t.Program.Value);
                p.AddWithValue("kind", (int)t.Kind);
                p.AddWithValue("referrer", t.Referrer.Value);
                p.Add(Text("code", t.Code?.Value));
                p.AddWithValue("medium", (int)t.Medium);
                p.Add(Text("visitor", t.VisitorId));
                p.Add(Text("customer", t.Customer?.Value));
                p.Add(Text("contact", t.Contact?.ToString()));
                p.Add(Text("store_id", t.StoreId));
                p.Add(Text("register_id", t.RegisterId));
                p.Add(Text("order_id", t.OrderId));
                p.AddWithValue("event_time", ToTicks(t.EventTime));
                p.AddWithValue("recorded_at", ToTicks(t.RecordedAt));
                CountHour(t.Program.Value, t.Referrer.Value, TouchHours, ToTicks(t.EventTime));
            }
            foreach (var order in unit.Orders)
            {
                AddOrder(order);
            }
            foreach (var refund in unit.Refunds)
            {
                var p = Add("""
                    INSERT INTO {s}.refunds (program, refund_id, order_id, amount, currency, event_time, is_chargeback)
                    VALUES (@program, @refund_id, @order_id, @amount, @currency, @event_time, @is_chargeback)
                    ON CONFLICT (program, refund_id) DO NOTHING;
                    """, WriteStatus.Duplicate, RowKind.Refund, refund.RefundId);
                p.AddWithValue("program", refund.Program.Value);
                p.AddWithValue("refund_id", refund.RefundId);
                p.AddWithValue("order_id", refund.OrderId);
                p.AddWithValue("amount", refund.Amount.Amount);
                p.AddWithValue("currency", refund.Amount.Currency);
                p.AddWithValue("event_time", ToTicks(refund.EventTime));
                p.AddWithValue("is_chargeback", refund.IsChargeback);
            }
            foreach (var entry in unit.Entries)
            {
                var p = Add("""
                    INSERT INTO {s}.ledger (program, reward_id, entry_id, recorded_at, document)
                    VALUES (@program, @reward_id, @entry_id, @recorded_at, @document)
                    ON CONFLICT (program, reward_id, entry_id) DO NOTHING;
                    """, WriteStatus.Duplicate, RowKind.Entry, entry.RewardId + "/" + entry.EntryId);
                p.AddWithValue("program", entry.Program.Value);
                p.AddWithValue("reward_id", entry.RewardId);
                p.AddWithValue("entry_id", entry.EntryId);
                p.AddWithValue("recorded_at", ToTicks(entry.RecordedAt));
                p.AddWithValue("document", entry.Document);
            }
            foreach (var reward in unit.Rewards)
            {
                var p = Add(reward.Version == 1
                    ? $$"""
                      INSERT INTO {s}.rewards ({{RewardColumns}})
                      VALUES (@program, @reward_id, @beneficiary, @order_id, @conversion_time, @version, @due, @due_at, @document)
                      ON CONFLICT (program, reward_id) DO NOTHING;
                      """
                    : """
                      UPDATE {s}.rewards SET beneficiary = @beneficiary, order_id = @order_id, conversion_time = @conversion_time,
                          version = @version, due = @due, due_at = @due_at, document = @document
                      WHERE program = @program AND reward_id = @reward_id AND version = @version - 1;
                      """, WriteStatus.Conflict, RowKind.Reward, reward.RewardId);
                p.AddWithValue("program", reward.Program.Value);
                p.AddWithValue("reward_id", reward.RewardId);
                p.AddWithValue("beneficiary", reward.Beneficiary.Value);
                p.AddWithValue("order_id", reward.OrderId);
                p.AddWithValue("conversion_time", ToTicks(reward.ConversionTime));
                p.AddWithValue("version", reward.Version);
                p.Add(new NpgsqlParameter<int?>("due", NpgsqlDbType.Integer) { TypedValue = reward.Due is { } due ? (int)due : null });
                p.Add(Ticks("due_at", reward.DueAt));
                p.AddWithValue("document", reward.Document);
            }
            foreach (var summary in unit.Summaries)
            {
                string key = summary.Participant.Value + "/" + summary.Key;
                if (summary.Version == 1)
                {
                    LockSummary(summary);
                }
                var p = Add(summary.Version == 1
                    ? """
                      INSERT INTO {s}.summaries (program, participant, key, version, document) VALUES (@program, @participant, @key, @version, @document)
                      ON CONFLICT (program, participant, key) DO NOTHING;
                      """
                    : """
                      UPDATE {s}.summaries SET version = @version, document = @document
                      WHERE program = @program AND participant = @participant AND key = @key AND version = @version - 1;
                      """, WriteStatus.Conflict, RowKind.Summary, key);
                p.AddWithValue("program", summary.Program.Value);
                p.AddWithValue("participant", summary.Participant.Value);
                p.AddWithValue("key", summary.Key);
                p.AddWithValue("version", summary.Version);
                p.AddWithValue("document", summary.Document);
            }
            foreach (var n in unit.Notifications)
            {
                var p = Add(InsertNotificationSql, WriteStatus.Duplicate, RowKind.Notification, n.Id);
                BindNotification(p, n);
            }
            foreach (var rebuilt in unit.RebuiltPrograms)
            {
                var p = Add("DELETE FROM {s}.pending_rebuilds WHERE program = @program;", WriteStatus.Duplicate, RowKind.Rebuild, rebuilt.Value);
                p.AddWithValue("program", rebuilt.Value);
            }
            foreach (var erasure in unit.Erasures)
            {
                var p = Add("""
                    INSERT INTO {s}.erasures (erasure_id, participant, at, actor, reason) VALUES (@erasure_id, @participant, @at, @actor, @reason)
                    ON CONFLICT (erasure_id) DO NOTHING;
                    """, WriteStatus.Duplicate, RowKind.Erasure, erasure.ErasureId);
                p.AddWithValue("erasure_id", erasure.ErasureId);
                p.AddWithValue("participant", erasure.Participant.Value);
                p.AddWithValue("at", ToTicks(erasure.At));
                p.AddWithValue("actor", erasure.Actor);
                p.AddWithValue("reason", erasure.Reason);
            }
            AddHourCounts();
        }

        // What the unit's new touches and credited orders add to referrer_hours (schema version 3), by (program, referrer,
        // kind, hour). Counted as the rows are added: a unit is written whole or rolled back to its savepoint whole (a
        // touch or order that exists already stops it as a duplicate), so what is counted here is what was inserted.
        private Dictionary<(string Program, string Referrer, int Kind, long Hour), long>? _hours;

        private void CountHour(string program, string referrer, int kind, long ticks)
        {
            var key = (program, referrer, kind, HourOf(ticks));
            (_hours ??= [])[key] = _hours.GetValueOrDefault(key) + 1;
        }

        /// <summary>
        /// The unit's hour counts as one upsert, its keys in order (two units counting the same hours lock their rows in the
        /// same order; each key once, as ON CONFLICT DO UPDATE requires). A conversion's touch and credited order make two rows.
        /// </summary>
        private void AddHourCounts()
        {
            if (_hours is not { Count: > 0 } hours)
            {
                return;
            }
            var keys = hours.Keys.ToArray();
            Array.Sort(keys, static (a, b) =>
            {
                int c = string.CompareOrdinal(a.Program, b.Program);
                c = c != 0 ? c : string.CompareOrdinal(a.Referrer, b.Referrer);
                c = c != 0 ? c : a.Kind.CompareTo(b.Kind);
                return c != 0 ? c : a.Hour.CompareTo(b.Hour);
            });
            var p = Add("""
                INSERT INTO {s}.referrer_hours (program, referrer, kind, hour, count)
                SELECT * FROM unnest(@programs::text[], @referrers::text[], @kinds::integer[], @hours::bigint[], @counts::bigint[])
                ON CONFLICT (program, referrer, kind, hour) DO UPDATE SET count = referrer_hours.count + excluded.count;
                """, default, default, null);
            p.AddWithValue("programs", keys.Select(static k => k.Program).ToArray());
            p.AddWithValue("referrers", keys.Select(static k => k.Referrer).ToArray());
            p.AddWithValue("kinds", keys.Select(static k => k.Kind).ToArray());
            p.AddWithValue("hours", keys.Select(static k => k.Hour).ToArray());
            p.AddWithValue("counts", keys.Select(k => hours[k]).ToArray());
        }

        /// <summary>
        /// New codes (every one version 1) inserted by one statement from arrays: the codes of a bulk generation (thousands
        /// per unit) in one round of the feed's counter row and one statement, not two statements each. Each code gets the
        /// position its place in the list gives it, as one statement per code would; a code that exists (or comes twice)
        /// is inserted by none, and the count of the statement tells.
        /// </summary>
        private void AddNewCodes(IReadOnlyList<CodeRow> rows)
        {
            _codesWritten = true;
            int n = rows.Count;
            var p = Add("""
                WITH rows AS (
                    SELECT * FROM unnest(@code, @display, @program, @owner, @medium, @kind, @status, @created_at, @expires_at, @max_uses, @uses, @changed_at)
                        WITH ORDINALITY AS u(code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, changed_at, ordinal)
                ),
                feed AS (UPDATE {s}.code_feed SET position = position + @count WHERE id = 1 RETURNING position),
                versions AS (
                    INSERT INTO {s}.code_versions (program, code, version, changed_at, display, owner, medium, kind, status, created_at, expires_at, max_uses, uses)
                    SELECT program, code, 1, changed_at, display, owner, medium, kind, status, created_at, expires_at, max_uses, uses FROM rows
                    ON CONFLICT DO NOTHING
                )
                INSERT INTO {s}.codes (code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version, change_position)
                SELECT r.code, r.display, r.program, r.owner, r.medium, r.kind, r.status, r.created_at, r.expires_at, r.max_uses, r.uses, 1, feed.position - @count + r.ordinal
                FROM rows r CROSS JOIN feed
                ON CONFLICT (code) DO NOTHING;
                """, WriteStatus.Duplicate, RowKind.Code, null);
            _expects[^1] = _expects[^1] with { Rows = n };
            _newCodesAt = _expects.Count - 1;
            _newCodes = new string[n];
            var display = new string[n];
            var program = new string[n];
            var owner = new string?[n];
            var medium = new int[n];
            var kind = new int[n];
            var status = new int[n];
            var createdAt = new long[n];
            var expiresAt = new long?[n];
            var maxUses = new int?[n];
            var uses = new int[n];
            var changedAt = new long[n];
            for (int i = 0; i < n; i++)
            {
                var record = rows[i].Record;
                _newCodes[i] = record.Code.Value;
                display[i] = record.Display;
                program[i] = record.Program.Value;
                owner[i] = record.Owner?.Value;
                medium[i] = (int)record.Medium;
                kind[i] = (int)record.Kind;
                status[i] = (int)record.Status;
                createdAt[i] = ToTicks(record.CreatedAt);
                expiresAt[i] = record.ExpiresAt is { } expires ? ToTicks(expires) : null;
                maxUses[i] = record.MaxUses;
                uses[i] = record.Uses;
                changedAt[i] = ToTicks(rows[i].ChangedAt);
            }
            p.Add(new NpgsqlParameter<string[]>("code", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = _newCodes });
            p.Add(new NpgsqlParameter<string[]>("display", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = display });
            p.Add(new NpgsqlParameter<string[]>("program", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = program });
            p.Add(new NpgsqlParameter<string?[]>("owner", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = owner });
            p.Add(new NpgsqlParameter<int[]>("medium", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = medium });
            p.Add(new NpgsqlParameter<int[]>("kind", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = kind });
            p.Add(new NpgsqlParameter<int[]>("status", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = status });
            p.Add(new NpgsqlParameter<long[]>("created_at", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = createdAt });
            p.Add(new NpgsqlParameter<long?[]>("expires_at", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = expiresAt });
            p.Add(new NpgsqlParameter<int?[]>("max_uses", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = maxUses });
            p.Add(new NpgsqlParameter<int[]>("uses", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = uses });
            p.Add(new NpgsqlParameter<long[]>("changed_at", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = changedAt });
            p.AddWithValue("count", (long)n);
        }

        /// <summary>
        /// The code that stopped the new codes' statement, as one statement per code would name it: the first, in list
        /// order, that was stored before (its position is below this statement's, the feed row being locked by it) or that
        /// comes a second time in the list. Runs before the unit is rolled back to its savepoint.
        /// </summary>
        private async ValueTask<string> FirstDuplicateCodeAsync(CancellationToken ct)
        {
            var codes = _newCodes!;
            int first = int.MaxValue;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < codes.Length; i++)
            {
                if (!seen.Add(codes[i]))
                {
                    first = i;
                    break;
                }
            }
            await using (var command = db.Command("""
                SELECT min(u.ordinal) FROM unnest(@codes) WITH ORDINALITY AS u(code, ordinal)
                JOIN {s}.codes c ON c.code = u.code
                WHERE c.change_position <= (SELECT position FROM {s}.code_feed WHERE id = 1) - @count;
                """))
            {
                command.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = codes });
                command.Parameters.AddWithValue("count", (long)codes.Length);
                if (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long stored)
                {
                    first = Math.Min(first, (int)stored - 1);
                }
            }
            return codes[first == int.MaxValue ? 0 : first];
        }

        private void AddCode(CodeRow row)
        {
            var record = row.Record;
            _codesWritten = true;
            // The feed's counter row is locked to the end of the transaction: positions are taken in commit order.
            var p = Add(record.Version == 1
                ? $$"""
                  WITH feed AS (UPDATE {s}.code_feed SET position = position + 1 WHERE id = 1 RETURNING position)
                  INSERT INTO {s}.codes ({{CodeColumns}}, change_position)
                  SELECT @code, @display, @program, @owner, @medium, @kind, @status, @created_at, @expires_at, @max_uses, @uses, @version, feed.position FROM feed
                  ON CONFLICT (code) DO NOTHING;
                  """
                : """
                  WITH feed AS (UPDATE {s}.code_feed SET position = position + 1 WHERE id = 1 RETURNING position)
                  UPDATE {s}.codes SET display = @display, program = @program, owner = @owner, medium = @medium, kind = @kind,
                      status = @status, created_at = @created_at, expires_at = @expires_at, max_uses = @max_uses, uses = @uses,
                      version = @version, change_position = feed.position
                  FROM feed
                  WHERE code = @code AND version = @version - 1;
                  """,
                record.Version == 1 ? WriteStatus.Duplicate : WriteStatus.Conflict, RowKind.Code, record.Code.Value);
            BindCode(p, record);
            p = Add($$"""
                INSERT INTO {s}.code_versions (program, code, version, changed_at, display, owner, medium, kind, status, created_at, expires_at, max_uses, uses)
                VALUES (@program, @code, @version, @changed_at, @display, @owner, @medium, @kind, @status, @created_at, @expires_at, @max_uses, @uses)
                ON CONFLICT DO NOTHING;
                """, default, default, null);
            BindCode(p, record);
            p.AddWithValue("changed_at", ToTicks(row.ChangedAt));
        }

        private void AddParticipant(Referrals.Participants.Participant participant)
        {
            var p = Add("""
                INSERT INTO {s}.participants (id, kind, masked_email, masked_phone) VALUES (@id, @kind, @masked_email, @masked_phone)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, masked_email = excluded.masked_email, masked_phone = excluded.masked_phone;
                """, default, default, null);
            p.AddWithValue("id", participant.Id.Value);
            p.AddWithValue("kind", (int)participant.Kind);
            p.Add(Text("masked_email", participant.MaskedEmail));
            p.Add(Text("masked_phone", participant.MaskedPhone));
            p = Add("""
                DELETE FROM {s}.participant_contacts WHERE participant = @id;
                """, default, default, null);
            p.AddWithValue("id", participant.Id.Value);
            p = Add("DELETE FROM {s}.participant_fingerprints WHERE participant = @id;", default, default, null);
            p.AddWithValue("id", participant.Id.Value);
            if (participant.Contacts.Count > 0)
            {
                p = Add("INSERT INTO {s}.participant_contacts (participant, ordinal, contact) SELECT @id, o - 1, v FROM unnest(@values) WITH ORDINALITY AS u(v, o);", default, default, null);
                p.AddWithValue("id", participant.Id.Value);
                p.AddWithValue("values", participant.Contacts.Select(static c => c.ToString()).ToArray());
            }
            if (participant.Fingerprints.Count > 0)
            {
                p = Add("INSERT INTO {s}.participant_fingerprints (participant, ordinal, fingerprint) SELECT @id, o - 1, v FROM unnest(@values) WITH ORDINALITY AS u(v, o);", default, default, null);
                p.AddWithValue("id", participant.Id.Value);
                p.AddWithValue("values", participant.Fingerprints.Select(static f => f.ToString()).ToArray());
            }
        }

        private void AddOrder(OrderRow order)
        {
            var c = order.Conversion;
            if (order.Version > 1)
            {
                // Core writes the same conversion in every version: only what it decided changes. A re-decision that moves
                // the credit moves the order's hour count (referrer_hours): the credited referrer the previous version had is
                // read by the statement itself, in its snapshot (not FOR UPDATE: the row is the UPDATE's, which runs first
                // in the statement, and a row the same statement updated is not locked again but skipped). Should another
                // transaction have changed the row since (every change raises its version), the UPDATE counts no row, a
                // conflict, and the unit, counts and all, is rolled back to its savepoint.
                var u = Add("""
                    WITH was AS (
                        SELECT credited_referrer FROM {s}.orders
                        WHERE program = @program AND order_id = @order_id AND version = @version - 1),
                    moved AS (
                        INSERT INTO {s}.referrer_hours (program, referrer, kind, hour, count)
                        SELECT @program, m.referrer, @kind, @hour, m.delta
                        FROM was CROSS JOIN LATERAL (VALUES (was.credited_referrer, -1::bigint), (@credited_referrer, 1::bigint)) AS m(referrer, delta)
                        WHERE m.referrer IS NOT NULL AND was.credited_referrer IS DISTINCT FROM @credited_referrer
                        ON CONFLICT (program, referrer, kind, hour) DO UPDATE SET count = referrer_hours.count + excluded.count)
                    UPDATE {s}.orders SET version = @version, document = @document, credited_referrer = @credited_referrer,
                        credited_code = @credited_code, counted_referrer = @counted_referrer
                    WHERE program = @program AND order_id = @order_id AND version = @version - 1;
                    """, WriteStatus.Conflict, RowKind.Order, c.OrderId);
                BindOrder(u, order);
                u.AddWithValue("kind", CreditedHours);
                u.AddWithValue("hour", HourOf(ToTicks(c.EventTime)));
                return;
            }
            if (order.CreditedReferrer is { } credited)
            {
                CountHour(c.Program.Value, credited.Value, CreditedHours, ToTicks(c.EventTime));
            }
            LockKey(RowKind.Order, c.OrderId, c.Program.Value + "/" + c.OrderId);
            var p = Add("""
                INSERT INTO {s}.orders (program, order_id, customer, amount, currency, event_time, channel, store_id, visitor, is_new_customer, presented_code, register_id,
                                        version, document, credited_referrer, credited_code, counted_referrer)
                VALUES (@program, @order_id, @customer, @amount, @currency, @event_time, @channel, @store_id, @visitor, @is_new_customer, @presented_code, @register_id,
                        @version, @document, @credited_referrer, @credited_code, @counted_referrer)
                ON CONFLICT (program, order_id) DO NOTHING;
                """, WriteStatus.Duplicate, RowKind.Order, c.OrderId);
            BindOrder(p, order);
            p.AddWithValue("customer", c.Customer.Value);
            p.AddWithValue("amount", c.Amount.Amount);
            p.AddWithValue("currency", c.Amount.Currency);
            p.AddWithValue("event_time", ToTicks(c.EventTime));
            p.AddWithValue("channel", (int)c.Channel);
            p.Add(Text("store_id", c.StoreId));
            p.Add(Text("visitor", c.VisitorId));
            p.Add(new NpgsqlParameter<bool?>("is_new_customer", NpgsqlDbType.Boolean) { TypedValue = c.IsNewCustomer });
            p.Add(Text("presented_code", c.PresentedCode));
            p.Add(Text("register_id", c.RegisterId));
            if (c.Contacts.Count > 0)
            {
                p = Add("""
                    INSERT INTO {s}.order_contacts (program, order_id, ordinal, contact)
                    SELECT @program, @order_id, o - 1, v FROM unnest(@values) WITH ORDINALITY AS u(v, o) ON CONFLICT DO NOTHING;
                    """, default, default, null);
                p.AddWithValue("program", c.Program.Value);
                p.AddWithValue("order_id", c.OrderId);
                p.AddWithValue("values", c.Contacts.Select(static h => h.ToString()).ToArray());
            }
            if (c.Fingerprints.Count > 0)
            {
                p = Add("""
                    INSERT INTO {s}.order_fingerprints (program, order_id, ordinal, fingerprint, customer, event_time)
                    SELECT @program, @order_id, o - 1, v, @customer, @event_time FROM unnest(@values) WITH ORDINALITY AS u(v, o) ON CONFLICT DO NOTHING;
                    """, default, default, null);
                p.AddWithValue("program", c.Program.Value);
                p.AddWithValue("order_id", c.OrderId);
                p.AddWithValue("customer", c.Customer.Value);
                p.AddWithValue("event_time", ToTicks(c.EventTime));
                p.AddWithValue("values", c.Fingerprints.Select(static f => f.ToString()).ToArray());
            }
        }

        private static void BindOrder(NpgsqlParameterCollection p, OrderRow order)
        {
            p.AddWithValue("program", order.Conversion.Program.Value);
            p.AddWithValue("order_id", order.Conversion.OrderId);
            p.AddWithValue("version", order.Version);
            p.AddWithValue("document", order.Document);
            p.Add(Text("credited_referrer", order.CreditedReferrer?.Value));
            p.Add(Text("credited_code", order.CreditedCode?.Value));
            p.Add(Text("counted_referrer", order.CountedReferrer?.Value));
        }
    }

    /// <summary>
    /// The advisory lock key of a participant's summaries, before the summary key: one key per (schema, program,
    /// participant, summary key), taken by a session's read of the summary and by every insert of it.
    /// </summary>
    private static string SummaryLockPrefix(string schema, ProgramId program, ParticipantId participant) =>
        schema + "/" + nameof(RowKind.Summary) + "/" + program.Value + "/" + participant.Value + "/";

    /// <summary>A text parameter that may be null (typed, so a null needs no inference).</summary>
    private static NpgsqlParameter<string?> Text(string name, string? value) => new(name, NpgsqlDbType.Text) { TypedValue = value };

    /// <summary>An instant parameter in ticks that may be null.</summary>
    private static NpgsqlParameter<long?> Ticks(string name, NodaTime.Instant? value) =>
        new(name, NpgsqlDbType.Bigint) { TypedValue = value is { } v ? ToTicks(v) : null };

    /// <summary>An instant as Unix ticks (100 ns); a sub-tick remainder, which no .NET clock produces, is dropped.</summary>
    internal static long ToTicks(NodaTime.Instant instant) => instant.ToUnixTimeTicks();

    /// <summary>Unix ticks as an instant.</summary>
    internal static NodaTime.Instant ToInstant(long ticks) => NodaTime.Instant.FromUnixTimeTicks(ticks);
}
