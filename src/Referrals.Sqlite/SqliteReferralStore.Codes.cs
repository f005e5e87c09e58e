using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Referrals.Codes;
using Referrals.Storage;
using SQLitePCL;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    private const string CodeColumns = "code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version";

    // The code statements are prepared and bound through SQLitePCL (raw), by position, not as SqliteCommands with named
    // parameters: a bulk unit writes thousands of rows, and binding by name costs a UTF-8 copy and a name search per value.
    // ?1 to ?12 are a code's columns in CodeColumns order (BindCode), then each statement's own.

    // The unique key refuses the second insert of a code; DO NOTHING turns that into "no row changed" instead of an error,
    // and sqlite3_changes() tells whether the insert happened. Other constraint failures (NOT NULL, types) still throw.
    // ?13 is the next position of the change feed (see WriteCodes), ?14 when the version took effect.
    private const string InsertCode = $"""
        INSERT INTO codes ({CodeColumns}, change_seq, changed_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
        ON CONFLICT (code) DO NOTHING;
        """;

    // A change first moves the current version (?2, the version the writer read) from codes into code_versions, which
    // keeps the versions before the current one (schema version 10): no row moved means the code is not at that version.
    private const string MoveCurrentCode = $"""
        INSERT INTO code_versions ({CodeColumns}, changed_at)
        SELECT {CodeColumns}, changed_at FROM codes WHERE code = ?1 AND version = ?2;
        """;

    // Then the update, with the same version check. ?13: the feed position, ?14: when the version took effect, ?15: the
    // version read.
    private const string UpdateCode = """
        UPDATE codes
        SET display = ?2, program = ?3, owner = ?4, medium = ?5, kind = ?6, status = ?7,
            created_at = ?8, expires_at = ?9, max_uses = ?10, uses = ?11, version = ?12, change_seq = ?13, changed_at = ?14
        WHERE code = ?1 AND version = ?15;
        """;

    private const int CodeParameterCount = 12;

    /// <summary>A statement prepared on the session's connection for one unit, finalized when disposed.</summary>
    private readonly struct RawStatement(SqliteSession db, sqlite3_stmt statement) : IDisposable
    {
        public static RawStatement Prepare(SqliteSession db, string sql)
        {
            var handle = db.Connection.Handle!;
            int rc = raw.sqlite3_prepare_v2(handle, sql, out var statement);
            if (rc != raw.SQLITE_OK)
            {
                statement?.Dispose();
                SqliteException.ThrowExceptionForRC(rc, handle);
            }
            return new RawStatement(db, statement!);
        }

        public void Text(int index, string value) => Check(raw.sqlite3_bind_text16(statement, index, value.AsSpan()));

        /// <summary>Binds a copy of <paramref name="value"/> (SQLite copies it: the span may change after the call).</summary>
        public void Text(int index, ReadOnlySpan<char> value) => Check(raw.sqlite3_bind_text16(statement, index, value));

        public void TextOrNull(int index, string? value) =>
            Check(value is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_text16(statement, index, value.AsSpan()));

        public void Integer(int index, long value) => Check(raw.sqlite3_bind_int64(statement, index, value));

        public void Integer(int index, long? value) =>
            Check(value is { } v ? raw.sqlite3_bind_int64(statement, index, v) : raw.sqlite3_bind_null(statement, index));

        /// <summary>Runs the statement once and makes it ready for the next row; returns the rows it changed.</summary>
        public int Execute()
        {
            var handle = db.Connection.Handle!;
            int rc = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, handle);
            }
            return raw.sqlite3_changes(handle);
        }

        public void Dispose() => statement?.Dispose();

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK)
            {
                SqliteException.ThrowExceptionForRC(rc, db.Connection.Handle!);
            }
        }
    }

    private static void BindCode(in RawStatement statement, ReferralCodeRecord r)
    {
        statement.Text(1, r.Code.Value);
        statement.Text(2, r.Display ?? throw new ArgumentException($"The record of code {r.Code} has no display text.", "record"));
        statement.Text(3, r.Program.Value ?? throw new ArgumentException($"The record of code {r.Code} has the empty default program id.", "record"));
        statement.TextOrNull(4, r.Owner?.Value);
        statement.Integer(5, (long)r.Medium);
        statement.Integer(6, (long)r.Kind);
        statement.Integer(7, (long)r.Status);
        statement.Integer(8, ToTicks(r.CreatedAt));
        statement.Integer(9, r.ExpiresAt is { } e ? ToTicks(e) : null);
        statement.Integer(10, r.MaxUses);
        statement.Integer(11, (long)r.Uses);
        statement.Integer(12, r.Version);
    }

    /// <summary>
    /// Writes a unit's code versions: a new code (version 1) is one insert into <c>codes</c>; a change moves the current
    /// row into <c>code_versions</c> and updates <c>codes</c>, checking the version before. Each statement is prepared once
    /// for the unit and bound per row. Returns the outcome of the first row (in the unit's order) that stops the unit; the
    /// caller then rolls back its savepoint.
    /// </summary>
    /// <remarks>
    /// Every written version takes a position of the change feed (<c>change_seq</c>) after the feed's end, by its place in
    /// the unit (rows are written in key order, <see cref="KeyOrder"/>): the feed's end is read once for the unit, inside
    /// the writer's transaction (BEGIN IMMEDIATE), so no other writer takes a position meanwhile and positions still
    /// follow commit order, as reading <c>max + 1</c> for every row did.
    /// </remarks>
    private static WriteOutcome? WriteCodes(SqliteSession db, IReadOnlyList<CodeRow> rows, CancellationToken ct)
    {
        if (rows is BulkCodeRows { Shape.Prototype.Version: 1 } bulk)
        {
            return WriteBulkCodes(db, bulk, ct);
        }
        long position = (long)db.Command("SELECT coalesce(max(change_seq), 0) FROM codes;").ExecuteScalar()!;
        RawStatement insert = default, move = default, update = default;
        bool prepared = false, preparedChange = false;
        // The row that stops the unit is the first in the unit's order, as if written in that order: rows of one code keep
        // their order in KeyOrder, and codes do not affect each other, so it is the stopping row of lowest index. The rest
        // are written meanwhile (the caller rolls the unit back).
        int stopAt = int.MaxValue;
        WriteOutcome? stop = null;
        try
        {
            foreach (int i in KeyOrder(rows))
            {
                ct.ThrowIfCancellationRequested();
                var row = rows[i];
                var record = row.Record;
                if (record.Version == 1)
                {
                    if (!prepared)
                    {
                        insert = RawStatement.Prepare(db, InsertCode);
                        prepared = true;
                    }
                    BindCode(insert, record);
                    insert.Integer(CodeParameterCount + 1, position + 1 + i);
                    insert.Integer(CodeParameterCount + 2, ToTicks(row.ChangedAt));
                    if (insert.Execute() == 0 && i < stopAt)
                    {
                        (stopAt, stop) = (i, WriteOutcome.Duplicate(RowKind.Code, record.Code.Value));
                    }
                }
                else
                {
                    if (!preparedChange)
                    {
                        move = RawStatement.Prepare(db, MoveCurrentCode);
                        update = RawStatement.Prepare(db, UpdateCode);
                        preparedChange = true;
                    }
                    move.Text(1, record.Code.Value);
                    move.Integer(2, record.Version - 1);
                    if (move.Execute() == 0)
                    {
                        if (i < stopAt)
                        {
                            (stopAt, stop) = (i, WriteOutcome.Conflict(RowKind.Code, record.Code.Value));
                        }
                        continue;
                    }
                    BindCode(update, record);
                    update.Integer(CodeParameterCount + 1, position + 1 + i);
                    update.Integer(CodeParameterCount + 2, ToTicks(row.ChangedAt));
                    update.Integer(CodeParameterCount + 3, record.Version - 1);
                    if (update.Execute() == 0 && i < stopAt)
                    {
                        // Not reached: the row just moved is at that version, and the writer's transaction holds the file.
                        (stopAt, stop) = (i, WriteOutcome.Conflict(RowKind.Code, record.Code.Value));
                    }
                }
            }
            return stop;
        }
        finally
        {
            if (prepared)
            {
                insert.Dispose();
            }
            if (preparedChange)
            {
                move.Dispose();
                update.Dispose();
            }
        }
    }

    /// <summary>
    /// <see cref="WriteCodes"/> for bulk generation's new codes, without a record or a string a row: every column but the
    /// code, its display and its feed position is the unit's, bound once (bindings outlive a statement's reset); the code
    /// and its display are bound from the drawn key and a buffer.
    /// </summary>
    private static WriteOutcome? WriteBulkCodes(SqliteSession db, BulkCodeRows rows, CancellationToken ct)
    {
        long position = (long)db.Command("SELECT coalesce(max(change_seq), 0) FROM codes;").ExecuteScalar()!;
        var shape = rows.Shape;
        using var insert = RawStatement.Prepare(db, InsertCode);
        BindCode(insert, shape.Prototype);
        insert.Integer(CodeParameterCount + 2, ToTicks(rows.ChangedAt));
        var buffer = new char[128];
        int stopAt = int.MaxValue;
        WriteOutcome? stop = null;
        foreach (int i in KeyOrder(rows))
        {
            ct.ThrowIfCancellationRequested();
            var key = rows.Key(i);
            insert.Text(1, key);
            var display = shape.Display(key, buffer);
            if (display.IsEmpty)
            {
                insert.Text(2, shape.Record(key).Display);
            }
            else
            {
                insert.Text(2, display);
            }
            insert.Integer(CodeParameterCount + 1, position + 1 + i);
            if (insert.Execute() == 0 && i < stopAt)
            {
                (stopAt, stop) = (i, WriteOutcome.Duplicate(RowKind.Code, new string(key)));
            }
        }
        return stop;
    }

    /// <summary>
    /// The order a unit's code rows are written in: by code (then as given, so two versions of a code keep their order)
    /// when there are many. Random codes in the order drawn touch the leaves of the codes B-tree at random, again and
    /// again in a large unit, and a leaf that left the page cache meanwhile is read and written again; in key order each
    /// leaf is read and written once a unit. Each row still takes the feed position its place in the unit gives it.
    /// </summary>
    private static int[] KeyOrder(IReadOnlyList<CodeRow> rows)
    {
        if (rows is BulkCodeRows bulk && bulk.Count > 64 && bulk.KeyOrder() is { } ordered)
        {
            return ordered; // the keys sorted without a record or a string made
        }
        var order = new int[rows.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        if (order.Length > 64)
        {
            var keys = new string[order.Length];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = rows[i].Record.Code.Value;
            }
            // Ordinal order is SQLite's BINARY order for these ASCII keys; any order is correct, this one is fast. The sort
            // is not stable: the rows of a code given more than once are put back in list order.
            Array.Sort(keys, order, StringComparer.Ordinal);
            for (int i = 1; i < keys.Length; i++)
            {
                if (string.Equals(keys[i], keys[i - 1], StringComparison.Ordinal))
                {
                    int start = i - 1;
                    while (i + 1 < keys.Length && string.Equals(keys[i + 1], keys[start], StringComparison.Ordinal))
                    {
                        i++;
                    }
                    Array.Sort(order, start, i - start + 1);
                }
            }
        }
        return order;
    }

    private static ReferralCodeRecord ReadCode(SqliteDataReader reader)
    {
        return new ReferralCodeRecord(
            code: ReadReferralCode(reader, 0, "codes", "code"),
            display: reader.GetString(1),
            program: ReadProgramId(reader, 2, "codes", "program"),
            owner: reader.IsDBNull(3) ? null : ReadParticipantId(reader, 3, "codes", "owner"),
            medium: (ShareMedium)reader.GetInt32(4),
            kind: (CodeKind)reader.GetInt32(5),
            status: (CodeStatus)reader.GetInt32(6),
            createdAt: ToInstant(reader.GetInt64(7)),
            expiresAt: reader.IsDBNull(8) ? null : ToInstant(reader.GetInt64(8)),
            maxUses: reader.IsDBNull(9) ? null : reader.GetInt32(9),
            uses: reader.GetInt32(10),
            version: reader.GetInt64(11));
    }

    private static ProgramId ReadProgramId(SqliteDataReader reader, int ordinal, string table, string column)
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

    private static ParticipantId ReadParticipantId(SqliteDataReader reader, int ordinal, string table, string column)
    {
        string value = reader.GetString(ordinal);
        try
        {
            return new ParticipantId(value);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, column, value);
        }
    }
}
