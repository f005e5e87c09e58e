using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Referrals.Codes;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    private const string CodeColumns = "code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version";

    // The unique key refuses the second insert of a code; DO NOTHING turns that into "no row changed" instead of an error,
    // and ExecuteNonQuery returns sqlite3_changes(), so the insert reports itself whether it happened. Other constraint
    // failures (NOT NULL, types) still throw. $change_seq is the next position of the change feed (see WriteCodes).
    private const string InsertCode = $"""
        INSERT INTO codes ({CodeColumns}, change_seq)
        VALUES ($code, $display, $program, $owner, $medium, $kind, $status, $created_at, $expires_at, $max_uses, $uses, $version, $change_seq)
        ON CONFLICT (code) DO NOTHING;
        """;

    // The version check is part of the UPDATE: a writer that read an older version changes no row.
    private const string UpdateCode = """
        UPDATE codes
        SET display = $display, program = $program, owner = $owner, medium = $medium, kind = $kind, status = $status,
            created_at = $created_at, expires_at = $expires_at, max_uses = $max_uses, uses = $uses, version = $version,
            change_seq = $change_seq
        WHERE code = $code AND version = $expected_version;
        """;

    private const string InsertCodeVersion = $"""
        INSERT INTO code_versions ({CodeColumns}, changed_at)
        VALUES ($code, $display, $program, $owner, $medium, $kind, $status, $created_at, $expires_at, $max_uses, $uses, $version, $changed_at);
        """;

    // The parameters every code statement has, in this order (BindCode sets them by position): then each statement's own.
    private const int CodeParameterCount = 12;

    private static void AddCodeParameters(SqliteCommand command, string extra, SqliteType extraType, string? extra2 = null)
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
        p.Add(extra, extraType);
        if (extra2 is not null)
        {
            p.Add(extra2, SqliteType.Integer);
        }
    }

    private static void BindCode(SqliteCommand command, ReferralCodeRecord r)
    {
        var p = command.Parameters;
        p[0].Value = r.Code.Value;
        p[1].Value = r.Display ?? throw new ArgumentException($"The record of code {r.Code} has no display text.", "record");
        p[2].Value = r.Program.Value ?? throw new ArgumentException($"The record of code {r.Code} has the empty default program id.", "record");
        p[3].Value = DbValue(r.Owner?.Value);
        p[4].Value = (long)r.Medium;
        p[5].Value = (long)r.Kind;
        p[6].Value = (long)r.Status;
        p[7].Value = ToTicks(r.CreatedAt);
        p[8].Value = DbValue(r.ExpiresAt is { } e ? ToTicks(e) : null);
        p[9].Value = DbValue(r.MaxUses);
        p[10].Value = (long)r.Uses;
        p[11].Value = r.Version;
    }

    /// <summary>
    /// Writes a unit's code versions: each into <c>codes</c> (an insert for version 1, else an update checking the version
    /// before) and into <c>code_versions</c>, each statement prepared once and bound per row. Returns at the first row that
    /// stops the unit (the caller rolls back its savepoint).
    /// </summary>
    /// <remarks>
    /// Every written version takes the next position of the change feed (<c>change_seq</c>): the feed's end is read once
    /// for the unit, inside the writer's transaction (BEGIN IMMEDIATE), so no other writer takes a position meanwhile and
    /// positions still follow commit order, as reading <c>max + 1</c> for every row did.
    /// </remarks>
    private static WriteOutcome? WriteCodes(SqliteSession db, IReadOnlyList<CodeRow> rows, CancellationToken ct)
    {
        long position = (long)db.Command("SELECT coalesce(max(change_seq), 0) FROM codes;").ExecuteScalar()!;
        SqliteCommand? insert = null;
        SqliteCommand? update = null;
        var version = db.Command(InsertCodeVersion);
        AddCodeParameters(version, "$changed_at", SqliteType.Integer);
        foreach (var row in rows)
        {
            ct.ThrowIfCancellationRequested();
            var record = row.Record;
            SqliteCommand command;
            if (record.Version == 1)
            {
                if (insert is null)
                {
                    insert = db.Command(InsertCode);
                    AddCodeParameters(insert, "$change_seq", SqliteType.Integer);
                }
                command = insert;
            }
            else
            {
                if (update is null)
                {
                    update = db.Command(UpdateCode);
                    AddCodeParameters(update, "$change_seq", SqliteType.Integer, "$expected_version");
                }
                command = update;
                command.Parameters[CodeParameterCount + 1].Value = record.Version - 1;
            }
            BindCode(command, record);
            command.Parameters[CodeParameterCount].Value = position + 1;
            if (command.ExecuteNonQuery() == 0)
            {
                return record.Version == 1 ? WriteOutcome.Duplicate(RowKind.Code, record.Code.Value) : WriteOutcome.Conflict(RowKind.Code, record.Code.Value);
            }
            position++;
            BindCode(version, record);
            version.Parameters[CodeParameterCount].Value = ToTicks(row.ChangedAt);
            version.ExecuteNonQuery();
        }
        return null;
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
