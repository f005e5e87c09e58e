using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    private const string TouchColumns = "id, program, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at";

    private static Touch ReadTouch(SqliteDataReader reader) => new(
        id: reader.GetString(0),
        program: ReadProgramId(reader, 1, "program_touches", "program"),
        kind: (TouchKind)reader.GetInt32(2),
        referrer: ReadParticipantId(reader, 3, "program_touches", "referrer"),
        code: reader.IsDBNull(4) ? null : ReadReferralCode(reader, 4, "program_touches", "code"),
        medium: (ShareMedium)reader.GetInt32(5),
        visitorId: GetNullableString(reader, 6),
        customer: reader.IsDBNull(7) ? null : ReadParticipantId(reader, 7, "program_touches", "customer"),
        contact: reader.IsDBNull(8) ? null : ReadContact(reader, 8, "program_touches", "contact"),
        storeId: GetNullableString(reader, 9),
        registerId: GetNullableString(reader, 10),
        orderId: GetNullableString(reader, 11),
        eventTime: ToInstant(reader.GetInt64(12)),
        recordedAt: ToInstant(reader.GetInt64(13)));

    private static ReferralCode ReadReferralCode(SqliteDataReader reader, int ordinal, string table, string column)
    {
        string stored = reader.GetString(ordinal);
        // Folding is idempotent, so a normalised code parses to itself; anything else was not written by this store.
        if (!ReferralCode.TryParse(stored, out var code) || code.Value != stored)
        {
            throw BadRow(table, column, stored);
        }
        return code;
    }

    private static ContactHash ReadContact(SqliteDataReader reader, int ordinal, string table, string column)
    {
        string stored = reader.GetString(ordinal);
        return ContactHash.TryParse(stored, out var hash) ? hash : throw BadRow(table, column, stored);
    }
}
