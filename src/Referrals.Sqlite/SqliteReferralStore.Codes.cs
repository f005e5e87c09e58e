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
