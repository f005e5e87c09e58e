using Npgsql;
using NpgsqlTypes;
using Referrals.Codes;
using Referrals.Storage;

namespace Referrals.PostgreSql;

public sealed partial class PostgreSqlReferralStore
{
    internal const string CodeColumns = "code, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses, version";

    internal const string TouchColumns = "id, program, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at";

    internal const string RewardColumns = "program, reward_id, beneficiary, order_id, conversion_time, version, due, due_at, document";

    /// <summary>Binds a code record's columns (<see cref="CodeColumns"/>) by name.</summary>
    private static void BindCode(NpgsqlParameterCollection p, ReferralCodeRecord record)
    {
        p.AddWithValue("code", record.Code.Value);
        p.AddWithValue("display", record.Display);
        p.AddWithValue("program", record.Program.Value);
        p.Add(Text("owner", record.Owner?.Value));
        p.AddWithValue("medium", (int)record.Medium);
        p.AddWithValue("kind", (int)record.Kind);
        p.AddWithValue("status", (int)record.Status);
        p.AddWithValue("created_at", ToTicks(record.CreatedAt));
        p.Add(Ticks("expires_at", record.ExpiresAt));
        p.Add(new NpgsqlParameter<int?>("max_uses", NpgsqlDbType.Integer) { TypedValue = record.MaxUses });
        p.AddWithValue("uses", record.Uses);
        p.AddWithValue("version", record.Version);
    }

    /// <summary>
    /// An erasure's deletions (see <see cref="UnitOfWork.Erasures"/>), after its audit row was inserted by the unit's batch:
    /// the participant's visitor links and contact hashes are read first, then every touch and order that holds them is
    /// scrubbed through the indexes by program and value (the programs listed by a skip scan of each table's key), and
    /// the participant's rows are deleted. The scrubbed orders' versions move on, so a session that read one before cannot
    /// write it back with the values erased. PostgreSQL keeps the old row versions until vacuum: see docs/privacy.md.
    /// </summary>
    private static async ValueTask<WriteOutcome?> EraseAsync(PgDb db, ParticipantErasure erasure, CancellationToken ct)
    {
        string id = erasure.Participant.Value;
        var visitors = new List<string>();
        var contacts = new List<string>();
        await using (var command = db.Command("""
            SELECT 0, visitor FROM {s}.visitor_links WHERE participant = @id
            UNION ALL
            SELECT 1, contact FROM {s}.participant_contacts WHERE participant = @id;
            """))
        {
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                (reader.GetInt32(0) == 0 ? visitors : contacts).Add(reader.GetString(1));
            }
        }
        await using (var command = db.Command("""
            WITH RECURSIVE programs (program) AS (
                (SELECT program FROM {s}.touches ORDER BY program LIMIT 1)
                UNION ALL
                SELECT (SELECT t.program FROM {s}.touches t WHERE t.program > p.program ORDER BY t.program LIMIT 1)
                FROM programs p WHERE p.program IS NOT NULL
            )
            UPDATE {s}.touches t SET visitor = NULL, contact = NULL
            FROM programs p
            WHERE p.program IS NOT NULL AND t.program = p.program
              AND (t.customer = @id OR t.visitor = ANY(@visitors) OR t.contact = ANY(@contacts))
              AND (t.visitor IS NOT NULL OR t.contact IS NOT NULL);
            """))
        {
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("visitors", visitors.ToArray());
            command.Parameters.AddWithValue("contacts", contacts.ToArray());
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var command = db.Command("""
            WITH RECURSIVE programs (program) AS (
                (SELECT program FROM {s}.orders ORDER BY program LIMIT 1)
                UNION ALL
                SELECT (SELECT o.program FROM {s}.orders o WHERE o.program > p.program ORDER BY o.program LIMIT 1)
                FROM programs p WHERE p.program IS NOT NULL
            ),
            mine AS (
                SELECT o.program, o.order_id FROM {s}.orders o JOIN programs p ON o.program = p.program WHERE o.customer = @id
            ),
            contacts AS (
                DELETE FROM {s}.order_contacts c USING mine m WHERE c.program = m.program AND c.order_id = m.order_id
                RETURNING c.program, c.order_id
            ),
            fingerprints AS (
                DELETE FROM {s}.order_fingerprints f USING mine m WHERE f.program = m.program AND f.order_id = m.order_id
                RETURNING f.program, f.order_id
            )
            UPDATE {s}.orders o SET visitor = NULL, version = o.version + 1
            FROM mine m
            WHERE o.program = m.program AND o.order_id = m.order_id
              AND (o.visitor IS NOT NULL
                   OR EXISTS (SELECT 1 FROM contacts c WHERE c.program = m.program AND c.order_id = m.order_id)
                   OR EXISTS (SELECT 1 FROM fingerprints f WHERE f.program = m.program AND f.order_id = m.order_id));
            """))
        {
            command.Parameters.AddWithValue("id", id);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var command = db.Command("""
            DELETE FROM {s}.visitor_links WHERE participant = @id;
            DELETE FROM {s}.participant_contacts WHERE participant = @id;
            DELETE FROM {s}.participant_fingerprints WHERE participant = @id;
            DELETE FROM {s}.participants WHERE id = @id;
            """))
        {
            command.Parameters.AddWithValue("id", id);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        return null;
    }
}
