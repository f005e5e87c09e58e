using NodaTime;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : IFraudStore
{
    // The fraud history's queries, each an index range (the store tests check their query plans).
    internal const string CountReferralsSql =
        "SELECT count(*) FROM touches WHERE program = $program AND referrer = $referrer AND event_time >= $from AND event_time < $until;";

    internal const string CountReferredConversionsSql =
        $"SELECT count(*) FROM conversions c WHERE c.program = $program AND c.referrer = $referrer AND {Credited} AND c.conversion_time >= $from AND c.conversion_time < $until;";

    internal const string ReferredOrderStatsSql = "SELECT orders, refunded FROM reward_accounts WHERE program = $program AND beneficiary = $referrer;";

    internal const string RegisteredWithSql = "SELECT DISTINCT participant FROM participant_fingerprints WHERE fingerprint = $fingerprint;";

    // The instant of the limit-th latest sighting, then every sighting from that instant on: the rows at that instant are
    // all read, and sorted by the caller.
    internal const string SeenWithSql = """
        SELECT customer, event_time, order_id FROM conversion_fingerprints
        WHERE program = $program AND fingerprint = $fingerprint AND event_time < $until
          AND event_time >= (
              SELECT min(event_time) FROM (
                  SELECT event_time FROM conversion_fingerprints
                  WHERE program = $program AND fingerprint = $fingerprint AND event_time < $until
                  ORDER BY event_time DESC LIMIT $limit));
        """;

    /// <inheritdoc />
    /// <remarks>Every touch names a referrer: a count over the range of the <c>touches_by_referrer</c> index.</remarks>
    public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return CountInRangeAsync(
            CountReferralsSql,
            program,
            referrer,
            from,
            until,
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// By the attribution's conversion time: a count over the range of the partial index of credited attributions by
    /// referrer, so a re-evaluation that moves or takes away the credit is counted where it is now.
    /// </remarks>
    public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return CountInRangeAsync(
            CountReferredConversionsSql,
            program,
            referrer,
            from,
            until,
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One row read: the counts are kept in the referrer's reward account row by triggers on the attributions (columns of
    /// the conversions) and the refunded orders (see the schema), in the same statement that changes either.
    /// </remarks>
    public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, referrer), static async (session, key, ct) =>
        {
            var command = session.Command(ReferredOrderStatsSql);
            command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
            command.Parameters.AddWithValue("$referrer", DbValue(key.referrer.Value));
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false)
                ? new ReferredOrderStats(checked((int)reader.GetInt64(0)), checked((int)reader.GetInt64(1)))
                : default;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two index ranges in one snapshot: the registrations (any program, participants are not per program) and the
    /// program's conversions that carried the fingerprint before <paramref name="until"/>, the latest
    /// <paramref name="limit"/> of them (none when it is zero or less). Conversions at the same instant are ordered by
    /// order id in .NET ordinal order, as in the in-memory store; SQLite reads every row at the last instant taken, so
    /// that order decides which of them are in the list.
    /// </remarks>
    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, fingerprint, until, limit), static async (session, key, ct) =>
        {
            using var transaction = session.Begin(deferred: true);
            string stored = key.fingerprint.ToString();
            var command = session.Command(RegisteredWithSql, transaction);
            command.Parameters.AddWithValue("$fingerprint", stored);

            var registered = new List<string>();
            using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    registered.Add(reader.GetString(0));
                }
            }
            // .NET ordinal order, like the in-memory store (SQLite's BINARY order differs above U+FFFF).
            registered.Sort(StringComparer.Ordinal);
            var found = new List<FingerprintSighting>(registered.Count);
            foreach (var id in registered)
            {
                found.Add(new FingerprintSighting(ParseParticipantId(id, "participant_fingerprints", "participant"), null, null));
            }

            if (key.limit > 0)
            {
                command = session.Command(SeenWithSql, transaction);
                command.Parameters.AddWithValue("$fingerprint", stored);
                command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
                command.Parameters.AddWithValue("$until", CeilingTicks(key.until));
                command.Parameters.AddWithValue("$limit", (long)key.limit);
                var seen = new List<(long At, string OrderId, string Customer)>();
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        seen.Add((reader.GetInt64(1), reader.GetString(2), reader.GetString(0)));
                    }
                }
                seen.Sort(static (x, y) =>
                {
                    int c = y.At.CompareTo(x.At);
                    return c != 0 ? c : string.CompareOrdinal(y.OrderId, x.OrderId);
                });
                for (int i = 0; i < seen.Count && i < key.limit; i++)
                {
                    var s = seen[i];
                    found.Add(new FingerprintSighting(ParseParticipantId(s.Customer, "conversion_fingerprints", "customer"), ToInstant(s.At), s.OrderId));
                }
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return (IReadOnlyList<FingerprintSighting>)found;
        }, cancellationToken);
    }

    /// <summary>A count(*) query over [from, until) of one referrer, with the bounds as stored ticks.</summary>
    private ValueTask<int> CountInRangeAsync(string sql, ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken)
    {
        if (from >= until)
        {
            return ValueTask.FromResult(0);
        }
        return ReadAsync((sql, program, referrer, from, until), static async (session, key, ct) =>
        {
            var command = session.Command(key.sql);
            command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
            command.Parameters.AddWithValue("$referrer", DbValue(key.referrer.Value));
            command.Parameters.AddWithValue("$from", CeilingTicks(key.from));
            command.Parameters.AddWithValue("$until", CeilingTicks(key.until));
            return checked((int)(long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!);
        }, cancellationToken);
    }

    /// <summary>
    /// The least tick at or after an instant. Stored times are whole ticks, so for a stored t: t ≥ instant exactly when
    /// t ≥ this, and t &lt; instant exactly when t &lt; this; a bound with a sub-tick remainder is compared as the
    /// in-memory store compares it.
    /// </summary>
    private static long CeilingTicks(Instant instant)
    {
        long ticks = instant.ToUnixTimeTicks(); // truncated towards the start of time
        return Instant.FromUnixTimeTicks(ticks) < instant ? ticks + 1 : ticks;
    }

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
