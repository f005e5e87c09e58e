using NodaTime;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
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
}
