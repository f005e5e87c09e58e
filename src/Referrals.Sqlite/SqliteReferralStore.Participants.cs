using Microsoft.Data.Sqlite;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{

    private static async ValueTask InsertListAsync<T>(
        SqliteSession session,
        SqliteWork? transaction,
        string table,
        string column,
        ParticipantId participant,
        IReadOnlyList<T> values,
        Func<T, string> storedForm,
        CancellationToken cancellationToken)
    {
        if (values.Count == 0)
        {
            return;
        }
        // Table and column are constants of this class, never input.
        var command = session.Command($"INSERT INTO {table} (participant, ordinal, {column}) VALUES ($participant, $ordinal, $value);", transaction);
        command.Parameters.AddWithValue("$participant", participant.Value);
        var ordinal = command.Parameters.Add("$ordinal", SqliteType.Integer);
        var value = command.Parameters.Add("$value", SqliteType.Text);
        for (int i = 0; i < values.Count; i++)
        {
            ordinal.Value = (long)i;
            value.Value = storedForm(values[i]);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The participants whose ids <paramref name="idsQuery"/> (a SELECT of ids using the parameter <c>$key</c>) returns,
    /// with their contacts and fingerprints, read in one snapshot and ordered by id (ordinal).
    /// </summary>
    private static async ValueTask<List<Participant>> LoadParticipantsAsync(SqliteSession session, string idsQuery, string key, CancellationToken cancellationToken)
    {
        // Three queries, one read transaction: a concurrent upsert is seen entirely or not at all.
        using var transaction = session.Begin(deferred: true);

        var rows = new Dictionary<string, (ParticipantKind Kind, string? Email, string? Phone, List<ContactHash> Contacts, List<Fingerprint> Fingerprints)>(StringComparer.Ordinal);
        var command = session.Command($"SELECT id, kind, masked_email, masked_phone FROM participants WHERE id IN ({idsQuery});", transaction);
        command.Parameters.AddWithValue("$key", key);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows[reader.GetString(0)] = ((ParticipantKind)reader.GetInt32(1), GetNullableString(reader, 2), GetNullableString(reader, 3), [], []);
            }
        }
        if (rows.Count == 0)
        {
            return [];
        }

        command = session.Command($"SELECT participant, contact FROM participant_contacts WHERE participant IN ({idsQuery}) ORDER BY participant, ordinal;", transaction);
        command.Parameters.AddWithValue("$key", key);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string stored = reader.GetString(1);
                if (!ContactHash.TryParse(stored, out var hash))
                {
                    throw BadRow("participant_contacts", "contact", stored);
                }
                rows[reader.GetString(0)].Contacts.Add(hash);
            }
        }

        command = session.Command($"SELECT participant, fingerprint FROM participant_fingerprints WHERE participant IN ({idsQuery}) ORDER BY participant, ordinal;", transaction);
        command.Parameters.AddWithValue("$key", key);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string stored = reader.GetString(1);
                if (!Fingerprint.TryParse(stored, out var fingerprint))
                {
                    throw BadRow("participant_fingerprints", "fingerprint", stored);
                }
                rows[reader.GetString(0)].Fingerprints.Add(fingerprint);
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var participants = new List<Participant>(rows.Count);
        foreach (var (id, row) in rows)
        {
            ParticipantId participantId;
            try
            {
                participantId = new ParticipantId(id);
            }
            catch (ArgumentException)
            {
                throw BadRow("participants", "id", id);
            }
            participants.Add(new Participant
            {
                Id = participantId,
                Kind = row.Kind,
                Contacts = row.Contacts,
                Fingerprints = row.Fingerprints,
                MaskedEmail = row.Email,
                MaskedPhone = row.Phone,
            });
        }
        // .NET ordinal order, like the in-memory store (see FindVisitorsAsync for why not ORDER BY).
        participants.Sort(static (a, b) => string.CompareOrdinal(a.Id.Value, b.Id.Value));
        return participants;
    }
}
