using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Referrals.Codes;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : IReferralCodeStore, IReferralCodeChangeFeed
{
    private const string CodeColumns = "code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version";

    // The unique key refuses the second insert of a code; DO NOTHING turns that into "no row changed" instead of an error,
    // and ExecuteNonQuery returns sqlite3_changes(), so the insert reports itself whether it happened. Other constraint
    // failures (NOT NULL, types) still throw.
    private const string InsertCode = $"""
        INSERT INTO codes ({CodeColumns}, change_seq)
        VALUES ($code, $display, $program, $owner, $medium, $kind, $status, $created_at, $expires_at, $max_uses, $uses, $version,
                (SELECT coalesce(max(change_seq), 0) + 1 FROM codes))
        ON CONFLICT (code) DO NOTHING;
        """;

    // The version check is part of the UPDATE: a writer that read an older version changes no row.
    private const string UpdateCode = """
        UPDATE codes
        SET display = $display, program = $program, owner = $owner, medium = $medium, kind = $kind, status = $status,
            created_at = $created_at, expires_at = $expires_at, max_uses = $max_uses, uses = $uses, version = $version,
            change_seq = (SELECT max(change_seq) + 1 FROM codes)
        WHERE code = $code AND version = $expected_version;
        """;

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="record"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The record's code is the empty <see langword="default"/> value.</exception>
    public ValueTask<bool> TryAddAsync(ReferralCodeRecord record, CancellationToken cancellationToken = default)
    {
        CheckRecord(record, nameof(record));
        cancellationToken.ThrowIfCancellationRequested();
        return WriteAsync(record, static async (session, record, ct) =>
        {
            var command = session.Command(InsertCode);
            AddCodeParameters(command);
            BindCode(command, record);
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>All inserts run in one transaction: a failure or cancellation part-way writes none of them.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="records"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An element is <see langword="null"/> or has the empty <see langword="default"/> code.</exception>
    public ValueTask<IReadOnlyCollection<ReferralCode>> AddManyAsync(IReadOnlyList<ReferralCodeRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        for (int i = 0; i < records.Count; i++)
        {
            CheckRecord(records[i], $"{nameof(records)}[{i}]");
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (records.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyCollection<ReferralCode>>([]);
        }
        return WriteAsync(records, static async (session, records, ct) =>
        {
            List<ReferralCode>? rejected = null;
            using var transaction = session.Begin(deferred: false);
            var command = session.Command(InsertCode, transaction);
            AddCodeParameters(command);
            foreach (var record in records)
            {
                ct.ThrowIfCancellationRequested();
                BindCode(command, record);
                // A code earlier in the batch is in the table by now, so a duplicate inside the batch is refused too.
                if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    (rejected ??= []).Add(record.Code);
                }
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return (IReadOnlyCollection<ReferralCode>?)rejected ?? [];
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<ReferralCodeRecord?> FindAsync(ReferralCode code, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync(code, static async (session, code, ct) =>
        {
            var command = session.Command($"SELECT {CodeColumns} FROM codes WHERE code = $code;");
            command.Parameters.AddWithValue("$code", code.Value);
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadCode(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="record"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The record does not carry <paramref name="expectedVersion"/> + 1, or its code is the empty <see langword="default"/> value.
    /// </exception>
    public ValueTask<bool> TryUpdateAsync(ReferralCodeRecord record, long expectedVersion, CancellationToken cancellationToken = default)
    {
        CheckRecord(record, nameof(record));
        if (record.Version != expectedVersion + 1)
        {
            throw new ArgumentException($"The new record must carry version {expectedVersion + 1}; it carries {record.Version}.", nameof(record));
        }
        cancellationToken.ThrowIfCancellationRequested();
        return WriteAsync((record, expectedVersion), static async (session, state, ct) =>
        {
            var command = session.Command(UpdateCode);
            AddCodeParameters(command);
            BindCode(command, state.record);
            command.Parameters.AddWithValue("$expected_version", state.expectedVersion);
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <summary>How many codes <see cref="ListAllAsync"/> reads at a time.</summary>
    internal const int ListAllPageSize = 1024;

    /// <inheritdoc />
    /// <remarks>
    /// Streams in pages of 1,024 codes in code order, each page read in a short read of its own and handed out after that
    /// read ended: however slowly the caller consumes the codes (an index load of millions), no read snapshot stays open,
    /// which would keep the write-ahead log from being copied into the database file and let it grow (see the class
    /// remarks). So a code written or changed while the enumeration runs may be seen or not, in either version; every code
    /// that exists throughout is seen once. Writers are not blocked.
    /// </remarks>
    public async IAsyncEnumerable<ReferralCodeRecord> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Normalised codes are non-empty, so the first page is the codes after ''.
        string after = string.Empty;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await ReadAsync(after, static async (session, after, ct) =>
            {
                var command = session.Command($"SELECT {CodeColumns} FROM codes WHERE code > $after ORDER BY code LIMIT {ListAllPageSize};");
                command.Parameters.AddWithValue("$after", after);
                var list = new List<ReferralCodeRecord>(ListAllPageSize);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(ReadCode(reader));
                }
                return list;
            }, cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                yield return record;
            }
            if (page.Count < ListAllPageSize)
            {
                yield break;
            }
            after = page[^1].Code.Value;
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListByOwnerAsync(ProgramId program, ParticipantId owner, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, owner), static async (session, key, ct) =>
        {
            // Normalised codes are ASCII, where SQLite's BINARY order is .NET's ordinal order.
            var command = session.Command($"SELECT {CodeColumns} FROM codes WHERE program = $program AND owner = $owner ORDER BY code;");
            command.Parameters.AddWithValue("$program", key.program.Value ?? string.Empty);
            command.Parameters.AddWithValue("$owner", key.owner.Value ?? string.Empty);
            var list = new List<ReferralCodeRecord>();
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(ReadCode(reader));
            }
            return (IReadOnlyList<ReferralCodeRecord>)list;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<long> GetChangePositionAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync(0, static async (session, _, ct) =>
        {
            var command = session.Command("SELECT coalesce(max(change_seq), 0) FROM codes;");
            return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public ValueTask<IReadOnlyList<ReferralCodeChange>> ListChangesAsync(long after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((after, limit), static async (session, state, ct) =>
        {
            var command = session.Command($"SELECT {CodeColumns}, change_seq FROM codes WHERE change_seq > $after ORDER BY change_seq LIMIT $limit;");
            command.Parameters.AddWithValue("$after", state.after);
            command.Parameters.AddWithValue("$limit", state.limit);
            var list = new List<ReferralCodeChange>();
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new ReferralCodeChange(reader.GetInt64(12), ReadCode(reader)));
            }
            return (IReadOnlyList<ReferralCodeChange>)list;
        }, cancellationToken);
    }

    private static void CheckRecord(ReferralCodeRecord? record, string paramName)
    {
        if (record is null)
        {
            throw paramName == nameof(record)
                ? new ArgumentNullException(paramName)
                : new ArgumentException($"{paramName} is null.", paramName);
        }
        if (record.Code.Value.Length == 0)
        {
            throw new ArgumentException($"{paramName} has the empty default code; make codes with ReferralCode.Parse or TryParse.", paramName);
        }
    }

    private static void AddCodeParameters(SqliteCommand command)
    {
        var p = command.Parameters;
        p.Add("$code", SqliteType.Text);
        p.Add("$display", SqliteType.Text);
        p.Add("$program", SqliteType.Text);
        p.Add("$owner", SqliteType.Text);
        p.Add("$medium", SqliteType.Integer);
        p.Add("$kind", SqliteType.Integer);
        p.Add("$status", SqliteType.Integer);
        p.Add("$created_at", SqliteType.Integer);
        p.Add("$expires_at", SqliteType.Integer);
        p.Add("$max_uses", SqliteType.Integer);
        p.Add("$uses", SqliteType.Integer);
        p.Add("$version", SqliteType.Integer);
    }

    private static void BindCode(SqliteCommand command, ReferralCodeRecord r)
    {
        var p = command.Parameters;
        p["$code"].Value = r.Code.Value;
        p["$display"].Value = r.Display ?? throw new ArgumentException($"The record of code {r.Code} has no display text.", "record");
        p["$program"].Value = r.Program.Value ?? throw new ArgumentException($"The record of code {r.Code} has the empty default program id.", "record");
        p["$owner"].Value = DbValue(r.Owner?.Value);
        p["$medium"].Value = (long)r.Medium;
        p["$kind"].Value = (long)r.Kind;
        p["$status"].Value = (long)r.Status;
        p["$created_at"].Value = ToTicks(r.CreatedAt);
        p["$expires_at"].Value = DbValue(r.ExpiresAt is { } e ? ToTicks(e) : null);
        p["$max_uses"].Value = DbValue(r.MaxUses);
        p["$uses"].Value = (long)r.Uses;
        p["$version"].Value = r.Version;
    }

    private static ReferralCodeRecord ReadCode(SqliteDataReader reader)
    {
        return new ReferralCodeRecord
        {
            Code = ReadReferralCode(reader, 0, "codes", "code"),
            Display = reader.GetString(1),
            Program = ReadProgramId(reader, 2, "codes", "program"),
            Owner = reader.IsDBNull(3) ? null : ReadParticipantId(reader, 3, "codes", "owner"),
            Medium = (ShareMedium)reader.GetInt32(4),
            Kind = (CodeKind)reader.GetInt32(5),
            Status = (CodeStatus)reader.GetInt32(6),
            CreatedAt = ToInstant(reader.GetInt64(7)),
            ExpiresAt = reader.IsDBNull(8) ? null : ToInstant(reader.GetInt64(8)),
            MaxUses = reader.IsDBNull(9) ? null : reader.GetInt32(9),
            Uses = reader.GetInt32(10),
            Version = reader.GetInt64(11),
        };
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
