using System.Text;
using Referrals.Codes;
using Referrals.Storage;
using SQLitePCL;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : ICodeIndexSource
{
    // Every code's current row, in the table's own order (its primary key): a sequential read of one B-tree.
    private const string CodeIndexRows = "SELECT code, display, program, owner, medium, kind, status, expires_at, max_uses, uses, version FROM codes;";

    /// <summary>
    /// The code index's fast start: one read transaction (a snapshot) over the reader's connection, its change-feed
    /// position first, then every row of <c>codes</c> stepped through SQLitePCLRaw, the text columns decoded into buffers
    /// of this call: nothing allocated per row.
    /// </summary>
    ValueTask<long> ICodeIndexSource.ReadCodeIndexAsync(ICodeIndexSink sink, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync(sink, static (db, sink, ct) =>
        {
            using var transaction = db.Connection.BeginTransaction(deferred: true);
            using var position = db.Connection.CreateCommand();
            position.Transaction = transaction;
            position.CommandText = "SELECT coalesce(max(change_seq), 0) FROM codes;";
            long at = (long)position.ExecuteScalar()!;
            // Every change took the next position, so the last position bounds the number of codes (updates take one too).
            sink.Expect(at);
            try
            {
                ReadRows(db.Connection.Handle!, sink, ct);
            }
            catch (ArgumentException e)
            {
                // A row the index cannot take (an empty program or owner id): named as the other reads name bad rows.
                throw new InvalidDataException($"The SQLite table 'codes' holds a row that cannot be read back ({e.Message}); was the file edited by hand?", e);
            }
            transaction.Commit();
            return ValueTask.FromResult(at);
        }, cancellationToken);
    }

    /// <summary>Reads the code index as the code service's start does, counting the rows (for tests).</summary>
    internal async ValueTask<(long Position, long Rows)> ReadCodeIndexForTestsAsync(CancellationToken cancellationToken)
    {
        var sink = new CountingSink();
        long position = await ((ICodeIndexSource)this).ReadCodeIndexAsync(sink, cancellationToken).ConfigureAwait(false);
        return (position, sink.Rows);
    }

    private sealed class CountingSink : ICodeIndexSink
    {
        public long Rows { get; private set; }

        public void Expect(long rows)
        {
        }

        public void Add(in CodeIndexRow row) => Rows++;
    }

    private static void ReadRows(sqlite3 handle, ICodeIndexSink sink, CancellationToken ct)
    {
        Check(raw.sqlite3_prepare_v2(handle, CodeIndexRows, out var statement), handle);
        using (statement)
        {
            // Codes, displays and ids are short: the longest id is 128 characters (ParticipantId.MaxLength).
            Span<char> code = stackalloc char[64];
            Span<char> display = stackalloc char[256];
            Span<char> program = stackalloc char[256];
            Span<char> owner = stackalloc char[512];
            bool direct = SqliteNative.HasRowReaders;
            IntPtr s = statement.DangerousGetHandle(); // held by the using above for the whole loop
            int rows = 0;
            int step;
            while ((step = direct ? SqliteNative.StepRow(s) : raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                if ((++rows & 0xFFFF) == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }
                if (direct)
                {
                    sink.Add(new CodeIndexRow
                    {
                        Code = Text(SqliteNative.Bytes(s, 0), 0, code),
                        Display = Text(SqliteNative.Bytes(s, 1), 1, display),
                        Program = Text(SqliteNative.Bytes(s, 2), 2, program),
                        Owner = SqliteNative.IsNull(s, 3) ? default : Text(SqliteNative.Bytes(s, 3), 3, owner),
                        Medium = (int)SqliteNative.Int64(s, 4),
                        Kind = (int)SqliteNative.Int64(s, 5),
                        Status = (int)SqliteNative.Int64(s, 6),
                        ExpiresAt = SqliteNative.IsNull(s, 7) ? null : ToInstant(SqliteNative.Int64(s, 7)),
                        MaxUses = SqliteNative.IsNull(s, 8) ? null : (int)SqliteNative.Int64(s, 8),
                        Uses = (int)SqliteNative.Int64(s, 9),
                        Version = SqliteNative.Int64(s, 10),
                    });
                    continue;
                }
                sink.Add(new CodeIndexRow
                {
                    Code = Text(raw.sqlite3_column_blob(statement, 0), 0, code),
                    Display = Text(raw.sqlite3_column_blob(statement, 1), 1, display),
                    Program = Text(raw.sqlite3_column_blob(statement, 2), 2, program),
                    Owner = raw.sqlite3_column_type(statement, 3) == raw.SQLITE_NULL ? default : Text(raw.sqlite3_column_blob(statement, 3), 3, owner),
                    Medium = raw.sqlite3_column_int(statement, 4),
                    Kind = raw.sqlite3_column_int(statement, 5),
                    Status = raw.sqlite3_column_int(statement, 6),
                    ExpiresAt = raw.sqlite3_column_type(statement, 7) == raw.SQLITE_NULL ? null : ToInstant(raw.sqlite3_column_int64(statement, 7)),
                    MaxUses = raw.sqlite3_column_type(statement, 8) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int(statement, 8),
                    Uses = raw.sqlite3_column_int(statement, 9),
                    Version = raw.sqlite3_column_int64(statement, 10),
                });
            }
            if (step != raw.SQLITE_DONE)
            {
                Check(step, handle);
            }
        }
    }

    // A text column decoded into the buffer (UTF-8 to UTF-16, no string).
    private static ReadOnlySpan<char> Text(ReadOnlySpan<byte> bytes, int column, Span<char> buffer)
    {
        if (Encoding.UTF8.GetMaxCharCount(bytes.Length) > buffer.Length && Encoding.UTF8.GetCharCount(bytes) > buffer.Length)
        {
            throw new InvalidDataException($"The SQLite table 'codes' holds a value of {bytes.Length} bytes in column {column}, longer than any code, display or id can be; was the file edited by hand?");
        }
        int n = Encoding.UTF8.GetChars(bytes, buffer);
        return buffer[..n];
    }

    private static void Check(int result, sqlite3 handle)
    {
        if (result != raw.SQLITE_OK)
        {
            throw new Microsoft.Data.Sqlite.SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), result);
        }
    }
}
