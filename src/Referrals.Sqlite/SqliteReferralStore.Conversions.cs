using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore : IConversionStore
{
    private const string ConversionColumns = "c.program, c.order_id, c.customer, c.amount, c.currency, c.event_time, c.channel, c.store_id, c.visitor, c.is_new_customer, c.presented_code, c.register_id";
    // An order's attribution is the rest of its conversion's row (schema version 4); NULL in all of these when it has none.
    private const string AttributionColumns = "c.program, c.order_id, c.attribution_customer, c.conversion_time, c.reason, c.is_repeat, c.referrer, c.code, c.decided_at, c.attribution_detail";

    // The credited orders: attributed (reason 0, NotAttributedReason.None) and not repeats. Literals, not parameters, so
    // that SQLite can match them against the WHERE clauses of the partial indexes.
    private const string Credited = "c.reason = 0 AND c.is_repeat = 0";

    /// <inheritdoc />
    /// <remarks>
    /// One transaction: the order with its contact hashes and fingerprints, or nothing. Unique by program and order id;
    /// the first record of an order is kept.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="conversion"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The order id is <see langword="null"/>; the program or customer id or the amount is the empty
    /// <see langword="default"/> value; the contact or fingerprint list is <see langword="null"/> or holds a
    /// <see langword="default"/> hash (one no hasher makes).
    /// </exception>
    public ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        CheckConversion(conversion);
        cancellationToken.ThrowIfCancellationRequested();
        return WriteAsync(conversion, static async (session, c, ct) =>
        {
            using var transaction = session.Begin(deferred: false, checksFirst: true);
            {
                var command = session.Command("""
                    INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, store_id, visitor, is_new_customer, presented_code, register_id)
                    VALUES ($program, $order_id, $customer, $amount, $currency, $event_time, $channel, $store_id, $visitor, $is_new_customer, $presented_code, $register_id)
                    ON CONFLICT (program, order_id) DO NOTHING;
                    """, transaction);
                var p = command.Parameters;
                p.AddWithValue("$program", c.Program.Value);
                p.AddWithValue("$order_id", c.OrderId);
                p.AddWithValue("$customer", c.Customer.Value);
                p.AddWithValue("$amount", FormatAmount(c.Amount.Amount));
                p.AddWithValue("$currency", c.Amount.Currency);
                p.AddWithValue("$event_time", ToTicks(c.EventTime));
                p.AddWithValue("$channel", (long)c.Channel);
                p.AddWithValue("$store_id", DbValue(c.StoreId));
                p.AddWithValue("$visitor", DbValue(c.VisitorId));
                p.AddWithValue("$is_new_customer", DbValue(c.IsNewCustomer is { } n ? (n ? 1L : 0L) : null));
                p.AddWithValue("$presented_code", DbValue(c.PresentedCode));
                p.AddWithValue("$register_id", DbValue(c.RegisterId));
                if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    // Recorded before: nothing written, nothing to commit.
                    return false;
                }
            }
            transaction.Writing(); // the order is claimed: its contacts and fingerprints cannot refuse
            if (c.Contacts.Count > 0)
            {
                var command = session.Command("INSERT INTO conversion_contacts (program, order_id, ordinal, contact) VALUES ($program, $order_id, $ordinal, $contact);", transaction);
                command.Parameters.AddWithValue("$program", c.Program.Value);
                command.Parameters.AddWithValue("$order_id", c.OrderId);
                var ordinal = command.Parameters.Add("$ordinal", SqliteType.Integer);
                var contact = command.Parameters.Add("$contact", SqliteType.Text);
                for (int i = 0; i < c.Contacts.Count; i++)
                {
                    ordinal.Value = (long)i;
                    contact.Value = c.Contacts[i].ToString();
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }
            if (c.Fingerprints.Count > 0)
            {
                var command = session.Command("""
                    INSERT INTO conversion_fingerprints (program, order_id, ordinal, fingerprint, customer, event_time)
                    VALUES ($program, $order_id, $ordinal, $fingerprint, $customer, $event_time);
                    """, transaction);
                command.Parameters.AddWithValue("$program", c.Program.Value);
                command.Parameters.AddWithValue("$order_id", c.OrderId);
                command.Parameters.AddWithValue("$customer", c.Customer.Value);
                command.Parameters.AddWithValue("$event_time", ToTicks(c.EventTime));
                var ordinal = command.Parameters.Add("$ordinal", SqliteType.Integer);
                var fingerprint = command.Parameters.Add("$fingerprint", SqliteType.Text);
                for (int i = 0; i < c.Fingerprints.Count; i++)
                {
                    ordinal.Value = (long)i;
                    fingerprint.Value = c.Fingerprints[i].ToString();
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<Conversion?> FindConversionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, orderId), static async (session, key, ct) =>
        {
            var found = await LoadConversionsAsync(
                session,
                "c.program = $program AND c.order_id = $order_id",
                key,
                static (p, key) =>
                {
                    p.AddWithValue("$program", DbValue(key.program.Value));
                    p.AddWithValue("$order_id", DbValue(key.orderId));
                },
                ct).ConfigureAwait(false);
            return found.Count == 0 ? null : found[0];
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The conversions, their contacts and fingerprints are read in one snapshot.</remarks>
    public ValueTask<IReadOnlyList<Conversion>> ListConversionsAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, customer), static async (session, key, ct) =>
            (IReadOnlyList<Conversion>)await LoadConversionsAsync(
                session,
                "c.program = $program AND c.customer = $customer",
                key,
                static (p, key) =>
                {
                    p.AddWithValue("$program", DbValue(key.program.Value));
                    p.AddWithValue("$customer", DbValue(key.customer.Value));
                },
                ct,
                // Without statistics SQLite's planner prefers a walk of the program's primary key range (every order of
                // the program) to this index when all columns are selected; the index finds the customer's few orders.
                "conversions c INDEXED BY conversions_by_customer").ConfigureAwait(false),
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Reads the whole program into memory, in one snapshot; meant for repair jobs, as the interface says.</remarks>
    public ValueTask<IReadOnlyList<Conversion>> ListAllConversionsAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync(program, static async (session, program, ct) =>
            (IReadOnlyList<Conversion>)await LoadConversionsAsync(
                session,
                "c.program = $program",
                program,
                static (p, program) => p.AddWithValue("$program", DbValue(program.Value)),
                ct).ConfigureAwait(false),
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement: writes the attribution into the row of the order's conversion (replacing the one stored there), so
    /// it is written only if the conversion is recorded; the fraud history's per-referrer order counts follow in the same
    /// statement (triggers). Fields without a column of their own (amount, channel, chain, considered touches, fraud
    /// assessment, ...) are kept as JSON in the <c>attribution_detail</c> column.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="attribution"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The order id is <see langword="null"/>; an id, code or the amount is the empty <see langword="default"/> value; the
    /// chain, touch or signal list is <see langword="null"/>; a considered touch has no id, or a fraud signal no name or
    /// evidence.
    /// </exception>
    /// <exception cref="InvalidOperationException">No conversion with the attribution's program and order id is recorded.</exception>
    public ValueTask SaveAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default)
    {
        CheckAttribution(attribution);
        string detail = JsonSerializer.Serialize(ToDetail(attribution), AttributionDetailJsonContext.Default.AttributionDetail);
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask(WriteAsync((attribution, detail), static async (session, state, ct) =>
        {
            if (!await UpsertAttributionAsync(session, null, state.attribution, state.detail, ct).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"No conversion with order id '{state.attribution.OrderId}' is recorded in program '{state.attribution.Program}'.");
            }
            return true;
        }, cancellationToken).AsTask());
    }

    /// <summary>
    /// Writes the attribution into the row of the order's conversion, replacing the one stored there;
    /// <see langword="false"/> (nothing written) when the conversion is not recorded. One statement, inside
    /// <paramref name="transaction"/> when one is given; the triggers that keep the fraud history's per-referrer order
    /// counts run inside it.
    /// </summary>
    private static async ValueTask<bool> UpsertAttributionAsync(SqliteSession session, SqliteWork? transaction, AttributionResult a, string detail, CancellationToken ct)
    {
        var command = session.Command("""
            UPDATE conversions SET
                attribution_customer = $customer, conversion_time = $conversion_time, reason = $reason,
                is_repeat = $is_repeat, referrer = $referrer, code = $code, decided_at = $decided_at,
                attribution_detail = $detail
            WHERE program = $program AND order_id = $order_id;
            """, transaction);
        var p = command.Parameters;
        p.AddWithValue("$program", a.Program.Value);
        p.AddWithValue("$order_id", a.OrderId);
        p.AddWithValue("$customer", a.Customer.Value);
        p.AddWithValue("$conversion_time", ToTicks(a.ConversionTime));
        p.AddWithValue("$reason", (long)a.Reason);
        p.AddWithValue("$is_repeat", a.IsRepeat ? 1L : 0L);
        p.AddWithValue("$referrer", DbValue(a.Referrer?.Value));
        p.AddWithValue("$code", DbValue(a.Code?.Value));
        p.AddWithValue("$decided_at", ToTicks(a.DecidedAt));
        p.AddWithValue("$detail", detail);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 0;
    }

    /// <inheritdoc />
    public ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return FindByOrderAsync($"SELECT {AttributionColumns} FROM conversions c WHERE c.program = $program AND c.order_id = $order_id AND c.reason IS NOT NULL;", program, orderId, ReadAttribution, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Orders by the customer's conversions (their event time, then order id in .NET ordinal order), as the in-memory
    /// store does: of the credited orders at the earliest time, the one with the ordinally least order id.
    /// </remarks>
    public ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((program, customer), static async (session, key, ct) =>
        {
            var command = session.Command($"""
                SELECT {AttributionColumns}, c.event_time, c.order_id
                FROM conversions c INDEXED BY conversions_by_customer
                WHERE c.program = $program AND c.customer = $customer AND {Credited}
                ORDER BY c.event_time;
                """);
            command.Parameters.AddWithValue("$program", DbValue(key.program.Value));
            command.Parameters.AddWithValue("$customer", DbValue(key.customer.Value));
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            AttributionResult? first = null;
            long firstTime = 0;
            string? firstOrder = null;
            // Only the rows at the earliest event time are candidates; among them SQLite's BINARY order of order ids is
            // not .NET's ordinal order, so the least is picked here.
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                long time = reader.GetInt64(10);
                string order = reader.GetString(11);
                if (first is not null && time != firstTime)
                {
                    break;
                }
                if (first is null || string.CompareOrdinal(order, firstOrder) < 0)
                {
                    first = ReadAttribution(reader);
                    firstTime = time;
                    firstOrder = order;
                }
            }
            return first;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Counts across programs, by the attribution's conversion time and order id, as the in-memory store does. One
    /// statement (one snapshot): SQLite counts the uses at earlier instants; the few at the same instant are compared here,
    /// by .NET ordinal order of their order ids.
    /// </remarks>
    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant conversionTime, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ReadAsync((code, conversionTime, orderId), static async (session, key, ct) =>
        {
            var command = session.Command($"""
                SELECT NULL, count(*) FROM conversions c WHERE c.code = $code AND {Credited} AND c.conversion_time < $time
                UNION ALL
                SELECT c.order_id, NULL FROM conversions c WHERE c.code = $code AND {Credited} AND c.conversion_time = $time;
                """);
            command.Parameters.AddWithValue("$code", key.code.Value);
            command.Parameters.AddWithValue("$time", ToTicks(key.conversionTime));
            long count = 0;
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (reader.IsDBNull(0))
                {
                    count += reader.GetInt64(1);
                }
                else if (string.CompareOrdinal(reader.GetString(0), key.orderId) < 0)
                {
                    count++;
                }
            }
            return checked((int)count);
        }, cancellationToken);
    }

    private static void CheckConversion(Conversion? conversion)
    {
        ArgumentNullException.ThrowIfNull(conversion);
        if (conversion.OrderId is null)
        {
            throw new ArgumentException("The conversion has a null order id.", nameof(conversion));
        }
        if (conversion.Program.Value is null || conversion.Customer.Value is null)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default program or customer id.", nameof(conversion));
        }
        if (conversion.Amount.Currency.Length == 0)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has the default amount, without a currency; make amounts with new Money(amount, currency).", nameof(conversion));
        }
        if (conversion.Contacts is null || conversion.Fingerprints is null)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has a null contact or fingerprint list; use an empty list.", nameof(conversion));
        }
        for (int i = 0; i < conversion.Contacts.Count; i++)
        {
            if (conversion.Contacts[i].Value.Length == 0)
            {
                throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default contact hash at index {i}; make hashes with ContactHasher.", nameof(conversion));
            }
        }
        for (int i = 0; i < conversion.Fingerprints.Count; i++)
        {
            if (conversion.Fingerprints[i].Value.Length == 0)
            {
                throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default fingerprint at index {i}; make fingerprints with FingerprintHasher.", nameof(conversion));
            }
        }
    }

    private static void CheckAttribution(AttributionResult? attribution)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        var a = attribution;
        if (a.OrderId is null)
        {
            throw new ArgumentException("The attribution has a null order id.", nameof(attribution));
        }
        if (a.Program.Value is null || a.Customer.Value is null || a.Referrer is { Value: null })
        {
            throw new ArgumentException($"The attribution of order '{a.OrderId}' has the empty default program, customer or referrer id.", nameof(attribution));
        }
        if (a.Amount.Currency.Length == 0)
        {
            throw new ArgumentException($"The attribution of order '{a.OrderId}' has the default amount, without a currency.", nameof(attribution));
        }
        if (a.Code is { Value.Length: 0 })
        {
            throw new ArgumentException($"The attribution of order '{a.OrderId}' has the empty default code.", nameof(attribution));
        }
        if (a.Chain is null || a.Touches is null || a.Fraud is { Signals: null })
        {
            throw new ArgumentException($"The attribution of order '{a.OrderId}' has a null chain, touch or fraud signal list; use an empty list.", nameof(attribution));
        }
        for (int i = 0; i < a.Chain.Count; i++)
        {
            if (a.Chain[i].Value is null)
            {
                throw new ArgumentException($"The attribution of order '{a.OrderId}' has the empty default participant id at chain index {i}.", nameof(attribution));
            }
        }
        for (int i = 0; i < a.Touches.Count; i++)
        {
            if (a.Touches[i].TouchId is null || a.Touches[i].Referrer.Value is null)
            {
                throw new ArgumentException($"The attribution of order '{a.OrderId}' has a considered touch without id or referrer at index {i}.", nameof(attribution));
            }
        }
        for (int i = 0; i < (a.Fraud?.Signals.Count ?? 0); i++)
        {
            if (a.Fraud!.Signals[i] is not { Name: not null, Evidence: not null })
            {
                throw new ArgumentException($"The fraud assessment of order '{a.OrderId}' has a null signal, or one without name or evidence, at index {i}.", nameof(attribution));
            }
        }
    }

    /// <summary>
    /// The conversions <paramref name="filter"/> (a condition on the alias <c>c</c>, naming <c>c.program</c>) selects, with
    /// their contacts and fingerprints, read in one snapshot and ordered by event time, then order id (ordinal).
    /// </summary>
    private static async ValueTask<List<Conversion>> LoadConversionsAsync<TKey>(
        SqliteSession session,
        string filter,
        TKey key,
        Action<SqliteParameterCollection, TKey> bind,
        CancellationToken cancellationToken,
        string source = "conversions c")
    {
        // Two queries, one read transaction: a conversion is seen with all of its rows or not at all.
        using var transaction = session.Begin(deferred: true);

        // The filter names one program, so the order id identifies a row.
        var rows = new Dictionary<string, (Conversion Conversion, List<ContactHash> Contacts, List<Fingerprint> Fingerprints)>(StringComparer.Ordinal);
        var command = session.Command($"SELECT {ConversionColumns} FROM {source} WHERE {filter};", transaction);
        bind(command.Parameters, key);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                List<ContactHash> contacts = [];
                List<Fingerprint> fingerprints = [];
                var conversion = ReadConversionColumns(reader, contacts, fingerprints);
                rows.Add(conversion.OrderId, (conversion, contacts, fingerprints));
            }
        }
        if (rows.Count == 0)
        {
            return [];
        }

        // CROSS JOIN keeps conversions the outer loop (SQLite does not reorder it): the filter's index finds the few orders,
        // then their rows; without it the planner may walk the whole child table in its key order to skip a sort.
        // Both child tables in one statement (kind 0: contact, 1: fingerprint), each in its ordinal order.
        command = session.Command($"""
            SELECT 0 AS kind, x.order_id, x.ordinal, x.contact FROM {source}
            CROSS JOIN conversion_contacts x ON x.program = c.program AND x.order_id = c.order_id
            WHERE {filter}
            UNION ALL
            SELECT 1, x.order_id, x.ordinal, x.fingerprint FROM {source}
            CROSS JOIN conversion_fingerprints x ON x.program = c.program AND x.order_id = c.order_id
            WHERE {filter}
            ORDER BY 1, 2, 3;
            """, transaction);
        bind(command.Parameters, key);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = rows[reader.GetString(1)];
                if (reader.GetInt64(0) == 0)
                {
                    row.Contacts.Add(ReadContact(reader, 3, "conversion_contacts", "contact"));
                    continue;
                }
                string stored = reader.GetString(3);
                if (!Fingerprint.TryParse(stored, out var fingerprint))
                {
                    throw BadRow("conversion_fingerprints", "fingerprint", stored);
                }
                row.Fingerprints.Add(fingerprint);
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var conversions = new List<Conversion>(rows.Count);
        foreach (var row in rows.Values)
        {
            conversions.Add(row.Conversion);
        }
        conversions.Sort(static (x, y) => CompareByTime(x.EventTime, x.OrderId, y.EventTime, y.OrderId));
        return conversions;
    }

    /// <summary>A conversion from a row selecting <see cref="ConversionColumns"/> first, with the given lists.</summary>
    private static Conversion ReadConversionColumns(SqliteDataReader reader, IReadOnlyList<ContactHash> contacts, IReadOnlyList<Fingerprint> fingerprints) => new()
    {
        Program = ReadProgramId(reader, 0, "conversions", "program"),
        OrderId = reader.GetString(1),
        Customer = ReadParticipantId(reader, 2, "conversions", "customer"),
        Amount = ReadMoney(reader, 3, 4, "conversions"),
        EventTime = ToInstant(reader.GetInt64(5)),
        Channel = (Channel)reader.GetInt32(6),
        StoreId = GetNullableString(reader, 7),
        VisitorId = GetNullableString(reader, 8),
        IsNewCustomer = reader.IsDBNull(9) ? null : reader.GetInt64(9) != 0,
        PresentedCode = GetNullableString(reader, 10),
        RegisterId = GetNullableString(reader, 11),
        Contacts = contacts,
        Fingerprints = fingerprints,
    };

    private static AttributionDetail ToDetail(AttributionResult a)
    {
        var chain = new string[a.Chain.Count];
        for (int i = 0; i < chain.Length; i++)
        {
            chain[i] = a.Chain[i].Value;
        }
        var touches = new ConsideredTouchDetail[a.Touches.Count];
        for (int i = 0; i < touches.Length; i++)
        {
            var t = a.Touches[i];
            touches[i] = new ConsideredTouchDetail(t.TouchId, (int)t.Kind, t.Referrer.Value, ToTicks(t.EventTime), (int)t.Verdict);
        }
        FraudDetail? fraud = null;
        if (a.Fraud is { } f)
        {
            var signals = new FraudSignalDetail[f.Signals.Count];
            for (int i = 0; i < signals.Length; i++)
            {
                var s = f.Signals[i];
                signals[i] = new FraudSignalDetail(s.Name, s.Score, s.Evidence);
            }
            fraud = new FraudDetail((int)f.Verdict, f.Score, f.ReviewAt, f.BlockAt, ToTicks(f.AssessedAt), signals);
        }
        return new AttributionDetail
        {
            Amount = FormatAmount(a.Amount.Amount),
            Currency = a.Amount.Currency,
            Channel = (int)a.ConversionChannel,
            StoreId = a.StoreId,
            Medium = (int)a.Medium,
            CaptureMethod = (int?)a.CaptureMethod,
            TouchId = a.TouchId,
            Combination = (int?)a.Combination,
            Chain = chain,
            Touches = touches,
            Fraud = fraud,
        };
    }

    /// <summary>Reads the columns of <see cref="AttributionColumns"/>, at ordinals 0 to 9.</summary>
    private static AttributionResult ReadAttribution(SqliteDataReader reader)
    {
        string json = reader.GetString(9);
        AttributionDetail detail;
        try
        {
            detail = JsonSerializer.Deserialize(json, AttributionDetailJsonContext.Default.AttributionDetail)
                ?? throw BadRow("conversions", "attribution_detail", json);
        }
        catch (JsonException)
        {
            throw BadRow("conversions", "attribution_detail", json.Length <= 100 ? json : json[..100] + "...");
        }
        try
        {
            var touches = new ConsideredTouch[detail.Touches.Count];
            for (int i = 0; i < touches.Length; i++)
            {
                var t = detail.Touches[i];
                touches[i] = new ConsideredTouch(t.Id, (TouchKind)t.Kind, new ParticipantId(t.Referrer), ToInstant(t.EventTime), (TouchVerdict)t.Verdict);
            }
            FraudAssessment? fraud = null;
            if (detail.Fraud is { } f)
            {
                var signals = new FraudSignal[f.Signals.Count];
                for (int i = 0; i < signals.Length; i++)
                {
                    var s = f.Signals[i];
                    signals[i] = new FraudSignal(s.Name, s.Score, s.Evidence);
                }
                fraud = new FraudAssessment
                {
                    Verdict = (FraudVerdict)f.Verdict,
                    Score = f.Score,
                    ReviewAt = f.ReviewAt,
                    BlockAt = f.BlockAt,
                    AssessedAt = ToInstant(f.AssessedAt),
                    Signals = signals,
                };
            }
            return new AttributionResult
            {
                Program = ReadProgramId(reader, 0, "conversions", "program"),
                OrderId = reader.GetString(1),
                Customer = ReadParticipantId(reader, 2, "conversions", "attribution_customer"),
                ConversionTime = ToInstant(reader.GetInt64(3)),
                Reason = (NotAttributedReason)reader.GetInt32(4),
                IsRepeat = reader.GetInt64(5) != 0,
                Referrer = reader.IsDBNull(6) ? null : ReadParticipantId(reader, 6, "conversions", "referrer"),
                Code = reader.IsDBNull(7) ? null : ReadReferralCode(reader, 7, "conversions", "code"),
                DecidedAt = ToInstant(reader.GetInt64(8)),
                Amount = ParseMoney(detail.Amount, detail.Currency, "conversions"),
                ConversionChannel = (Channel)detail.Channel,
                StoreId = detail.StoreId,
                Medium = (ShareMedium)detail.Medium,
                CaptureMethod = (TouchKind?)detail.CaptureMethod,
                TouchId = detail.TouchId,
                Combination = (ChannelCombination?)detail.Combination,
                Chain = detail.Chain.Select(static id => new ParticipantId(id)).ToArray(),
                Touches = touches,
                Fraud = fraud,
            };
        }
        catch (ArgumentException)
        {
            // A participant id in the detail that its constructor refuses.
            throw BadRow("conversions", "attribution_detail", json.Length <= 100 ? json : json[..100] + "...");
        }
    }

    private static string FormatAmount(decimal amount) => amount.ToString(CultureInfo.InvariantCulture);

    private static Money ReadMoney(SqliteDataReader reader, int amountOrdinal, int currencyOrdinal, string table) =>
        ParseMoney(reader.GetString(amountOrdinal), reader.GetString(currencyOrdinal), table);

    private static Money ParseMoney(string amount, string currency, string table)
    {
        if (!decimal.TryParse(amount, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            throw BadRow(table, "amount", amount);
        }
        try
        {
            return new Money(value, currency);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, "currency", currency);
        }
    }
}
