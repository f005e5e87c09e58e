using Npgsql;

namespace Referrals.PostgreSql;

/// <summary>
/// The schema's migrations, forward only, applied at start under a transaction-level advisory lock: ten instances
/// starting at once take the lock in turn, and every one after the first finds the versions recorded and applies nothing.
/// </summary>
/// <remarks>
/// <para>
/// Conventions: instants are <c>bigint</c> Unix ticks (100 ns since 1970-01-01T00:00Z, exact round trips of what .NET
/// clocks produce); enumerations their documented numeric values; money <c>numeric</c> (exact, scale kept) and a
/// currency; Core's documents <c>text</c>, stored verbatim (never <c>jsonb</c>, which would rewrite them). Every text
/// column that is a key or is compared by range uses the <c>"C"</c> collation (byte order), never the database's locale.
/// </para>
/// <para>
/// Keys: every table of a program's data has a primary key and indexes leading with the program, and no foreign key
/// crosses tables, so the tables can be distributed by program (docs/stores.md, "Distributed PostgreSQL"). The tables the
/// store contract keys host-wide — codes (a code finds its program), participants and their contacts, fingerprints and
/// visitor links, erasures, the outbox and the code change counter — are keyed by their own ids.
/// </para>
/// </remarks>
internal static class PostgreSqlSchema
{
    /// <summary>The migrations this version knows, in order: (version, description, SQL with <c>{s}</c> for the quoted schema).</summary>
    internal static readonly IReadOnlyList<(int Version, string Description, string Sql)> Migrations =
    [
        (1, "The store contract's tables", V1),
        (2, "A program's touches by event time and its reward rows by conversion time (touches_by_time, rewards_by_time), for reports and replay", V2),
        (3, "How many touches and credited orders each referrer has in each hour (referrer_hours), so a count over a day reads 24 rows instead of walking the day's index entries", V3),
    ];

    internal static int LatestVersion => Migrations[^1].Version;

    // The advisory lock key of migrations: one 64-bit key per schema, from the schema's name (hashtextextended is stable
    // across PostgreSQL versions for the same input), so two schemas in one database migrate independently.
    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended('referrals.migrations:' || @schema, 0));";

    /// <summary>
    /// Creates the schema if missing and applies the migrations it lacks, each in its own transaction holding the advisory
    /// lock; refuses a schema newer than this version.
    /// </summary>
    internal static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        string s = QuoteIdentifier(schema);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        foreach (var (version, description, sql) in Migrations)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var command = new NpgsqlCommand(LockSql, connection, transaction))
            {
                command.Parameters.AddWithValue("schema", schema);
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await using (var command = new NpgsqlCommand($"""
                CREATE SCHEMA IF NOT EXISTS {s};
                CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
                    version      integer     NOT NULL PRIMARY KEY,
                    description  text        NOT NULL,
                    applied_at   timestamptz NOT NULL DEFAULT now()
                );
                """, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            int applied;
            await using (var command = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {s}.schema_migrations;", connection, transaction))
            {
                applied = Convert.ToInt32(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            }
            if (applied > LatestVersion)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL schema \"{schema}\" is at version {applied}, newer than this version of Referrals.PostgreSql knows ({LatestVersion}); upgrade the library.");
            }
            if (applied >= version)
            {
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                continue;
            }
            await using (var command = new NpgsqlCommand(sql.Replace("{s}", s, StringComparison.Ordinal), connection, transaction))
            {
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await using (var command = new NpgsqlCommand($"INSERT INTO {s}.schema_migrations (version, description) VALUES (@version, @description);", connection, transaction))
            {
                command.Parameters.AddWithValue("version", version);
                command.Parameters.AddWithValue("description", description);
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>A schema name as a quoted SQL identifier.</summary>
    /// <exception cref="ArgumentException">Empty, longer than 63 bytes, or holding a NUL.</exception>
    internal static string QuoteIdentifier(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 63 || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a PostgreSQL schema name: at most 63 bytes, no NUL character.", nameof(name));
        }
        return "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    // Version 3: the fraud checks' velocity counts a referrer's touches and credited orders over the day before every
    // conversion, and a range count walks its index entries: an influencer with 5,000 referrals a day paid for all of them at
    // every conversion (HistoryLengthBenchmarks on PostgreSQL: 2.1-2.4x at 100,000 referrals packed into 20 days). These
    // are the counts of the rows per referrer and UTC hour (hour = floor(event_time / 36,000,000,000 ticks)), kind 0 for
    // touches (touches.referrer) and 1 for orders (orders.credited_referrer, the value Core computed): a plain aggregate of
    // the rows, kept by the statements of the units that insert and update them (no trigger, no rule: what a row counts for
    // is its column's value), as the SQLite store's schema 12 does. A count over a window adds up the hours it covers whole
    // and walks the index in its two partial hours only. The key leads with the program (distributable by program). Filled
    // here from the rows a version-2 schema holds.
    private const string V3 = """
        CREATE TABLE {s}.referrer_hours (
            program   text    COLLATE "C" NOT NULL,
            referrer  text    COLLATE "C" NOT NULL,
            kind      integer NOT NULL,
            hour      bigint  NOT NULL,
            count     bigint  NOT NULL,
            PRIMARY KEY (program, referrer, kind, hour)
        );
        INSERT INTO {s}.referrer_hours (program, referrer, kind, hour, count)
        SELECT program, referrer, 0, h, count(*)
        FROM (SELECT program, referrer, CASE WHEN event_time >= 0 THEN event_time / 36000000000 ELSE -((-event_time - 1) / 36000000000) - 1 END AS h
              FROM {s}.touches) t
        GROUP BY program, referrer, h;
        INSERT INTO {s}.referrer_hours (program, referrer, kind, hour, count)
        SELECT program, credited_referrer, 1, h, count(*)
        FROM (SELECT program, credited_referrer, CASE WHEN event_time >= 0 THEN event_time / 36000000000 ELSE -((-event_time - 1) / 36000000000) - 1 END AS h
              FROM {s}.orders WHERE credited_referrer IS NOT NULL) o
        GROUP BY program, credited_referrer, h;
        """;

    // Version 2: reports and replay read a program's touches by (event time, id) and its reward rows by (conversion time,
    // reward id), in pages (IReferralStoreReader.ListProgramTouchesAsync, ListProgramRewardsAsync); no index had those
    // orders. Both keys lead with the program, so the tables stay distributable by program (see the class remarks).
    // Plain CREATE INDEX: a migration is one transaction, where CONCURRENTLY is not allowed, so the build holds off
    // writes to each table while it runs (docs/stores.md says so for upgrades).
    private const string V2 = """
        CREATE INDEX touches_by_time ON {s}.touches (program, event_time, id);
        CREATE INDEX rewards_by_time ON {s}.rewards (program, conversion_time, reward_id);
        """;

    private const string V1 = """
        -- Codes, one row per normalised code (unique across programs: a code finds its program), at its latest version;
        -- change_position orders the change feed (ListCodeChangesAsync), taken from code_feed's one row.
        CREATE TABLE {s}.codes (
            code             text    COLLATE "C" NOT NULL PRIMARY KEY,
            display          text    NOT NULL,
            program          text    COLLATE "C" NOT NULL,
            owner            text    COLLATE "C",
            medium           integer NOT NULL,
            kind             integer NOT NULL,
            status           integer NOT NULL,
            created_at       bigint  NOT NULL,
            expires_at       bigint,
            max_uses         integer,
            uses             integer NOT NULL,
            version          bigint  NOT NULL,
            change_position  bigint  NOT NULL
        );
        CREATE INDEX codes_by_owner ON {s}.codes (program, owner, code) WHERE owner IS NOT NULL;
        CREATE UNIQUE INDEX codes_by_change ON {s}.codes (change_position);

        -- Every version of every code, for the code's state at an order's event time.
        CREATE TABLE {s}.code_versions (
            program     text    COLLATE "C" NOT NULL,
            code        text    COLLATE "C" NOT NULL,
            version     bigint  NOT NULL,
            changed_at  bigint  NOT NULL,
            display     text    NOT NULL,
            owner       text    COLLATE "C",
            medium      integer NOT NULL,
            kind        integer NOT NULL,
            status      integer NOT NULL,
            created_at  bigint  NOT NULL,
            expires_at  bigint,
            max_uses    integer,
            uses        integer NOT NULL,
            PRIMARY KEY (program, code, version)
        );
        CREATE INDEX code_versions_by_code ON {s}.code_versions (code, version);

        -- The change feed's counter: one row, locked by every code write to the end of its transaction, so positions
        -- are taken in commit order and a reader reading on from the last position it saw misses nothing.
        CREATE TABLE {s}.code_feed (
            id        integer NOT NULL PRIMARY KEY CHECK (id = 1),
            position  bigint  NOT NULL
        );
        INSERT INTO {s}.code_feed (id, position) VALUES (1, 0);

        CREATE TABLE {s}.participants (
            id            text    COLLATE "C" NOT NULL PRIMARY KEY,
            kind          integer NOT NULL,
            masked_email  text,
            masked_phone  text
        );
        CREATE TABLE {s}.participant_contacts (
            participant  text    COLLATE "C" NOT NULL,
            ordinal      integer NOT NULL,
            contact      text    COLLATE "C" NOT NULL,
            PRIMARY KEY (participant, ordinal)
        );
        CREATE INDEX participant_contacts_by_contact ON {s}.participant_contacts (contact, participant);
        CREATE TABLE {s}.participant_fingerprints (
            participant  text    COLLATE "C" NOT NULL,
            ordinal      integer NOT NULL,
            fingerprint  text    COLLATE "C" NOT NULL,
            PRIMARY KEY (participant, ordinal)
        );
        CREATE INDEX participant_fingerprints_by_fingerprint ON {s}.participant_fingerprints (fingerprint, participant);
        CREATE TABLE {s}.visitor_links (
            participant  text COLLATE "C" NOT NULL,
            visitor      text COLLATE "C" NOT NULL,
            PRIMARY KEY (participant, visitor)
        );
        CREATE INDEX visitor_links_by_visitor ON {s}.visitor_links (visitor);

        CREATE TABLE {s}.touches (
            program      text    COLLATE "C" NOT NULL,
            id           text    COLLATE "C" NOT NULL,
            kind         integer NOT NULL,
            referrer     text    COLLATE "C" NOT NULL,
            code         text    COLLATE "C",
            medium       integer NOT NULL,
            visitor      text    COLLATE "C",
            customer     text    COLLATE "C",
            contact      text    COLLATE "C",
            store_id     text,
            register_id  text,
            order_id     text,
            event_time   bigint  NOT NULL,
            recorded_at  bigint  NOT NULL,
            PRIMARY KEY (program, id)
        );
        CREATE INDEX touches_by_customer ON {s}.touches (program, customer, event_time, id) WHERE customer IS NOT NULL;
        CREATE INDEX touches_by_visitor ON {s}.touches (program, visitor, event_time, id) WHERE visitor IS NOT NULL;
        CREATE INDEX touches_by_contact ON {s}.touches (program, contact, event_time, id) WHERE contact IS NOT NULL;
        CREATE INDEX touches_by_referrer ON {s}.touches (program, referrer, event_time);

        -- Orders: the conversion as recorded, Core's version and document, and the index values Core computed.
        CREATE TABLE {s}.orders (
            program            text    COLLATE "C" NOT NULL,
            order_id           text    COLLATE "C" NOT NULL,
            customer           text    COLLATE "C" NOT NULL,
            amount             numeric NOT NULL,
            currency           text    NOT NULL,
            event_time         bigint  NOT NULL,
            channel            integer NOT NULL,
            store_id           text,
            visitor            text,
            is_new_customer    boolean,
            presented_code     text,
            register_id        text,
            version            bigint  NOT NULL,
            document           text    NOT NULL,
            credited_referrer  text    COLLATE "C",
            credited_code      text    COLLATE "C",
            counted_referrer   text    COLLATE "C",
            PRIMARY KEY (program, order_id)
        );
        CREATE INDEX orders_by_time ON {s}.orders (program, event_time, order_id);
        CREATE INDEX orders_by_customer ON {s}.orders (program, customer, event_time, order_id);
        CREATE INDEX orders_by_credited_referrer ON {s}.orders (program, credited_referrer, event_time, order_id) WHERE credited_referrer IS NOT NULL;
        CREATE INDEX orders_by_counted_referrer ON {s}.orders (program, counted_referrer, event_time, order_id) WHERE counted_referrer IS NOT NULL;
        CREATE INDEX orders_by_credited_code ON {s}.orders (credited_code, event_time, order_id) WHERE credited_code IS NOT NULL;

        CREATE TABLE {s}.order_contacts (
            program   text    COLLATE "C" NOT NULL,
            order_id  text    COLLATE "C" NOT NULL,
            ordinal   integer NOT NULL,
            contact   text    NOT NULL,
            PRIMARY KEY (program, order_id, ordinal)
        );
        CREATE TABLE {s}.order_fingerprints (
            program      text    COLLATE "C" NOT NULL,
            order_id     text    COLLATE "C" NOT NULL,
            ordinal      integer NOT NULL,
            fingerprint  text    COLLATE "C" NOT NULL,
            customer     text    COLLATE "C" NOT NULL,
            event_time   bigint  NOT NULL,
            PRIMARY KEY (program, order_id, ordinal)
        );
        CREATE INDEX order_fingerprints_by_fingerprint ON {s}.order_fingerprints (program, fingerprint, event_time, order_id);

        CREATE TABLE {s}.refunds (
            program        text    COLLATE "C" NOT NULL,
            refund_id      text    COLLATE "C" NOT NULL,
            order_id       text    COLLATE "C" NOT NULL,
            amount         numeric NOT NULL,
            currency       text    NOT NULL,
            event_time     bigint  NOT NULL,
            is_chargeback  boolean NOT NULL,
            sequence       bigint  GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (program, refund_id)
        );
        CREATE INDEX refunds_by_order ON {s}.refunds (program, order_id, sequence);

        -- The append-only ledger; sequence is the store's (gaps allowed).
        CREATE TABLE {s}.ledger (
            program      text    COLLATE "C" NOT NULL,
            reward_id    text    COLLATE "C" NOT NULL,
            entry_id     text    COLLATE "C" NOT NULL,
            sequence     bigint  GENERATED ALWAYS AS IDENTITY,
            recorded_at  bigint  NOT NULL,
            document     text    NOT NULL,
            PRIMARY KEY (program, reward_id, entry_id)
        );
        CREATE INDEX ledger_by_sequence ON {s}.ledger (program, sequence);
        CREATE INDEX ledger_by_reward ON {s}.ledger (program, reward_id, sequence);

        CREATE TABLE {s}.rewards (
            program          text    COLLATE "C" NOT NULL,
            reward_id        text    COLLATE "C" NOT NULL,
            beneficiary      text    COLLATE "C" NOT NULL,
            order_id         text    COLLATE "C" NOT NULL,
            conversion_time  bigint  NOT NULL,
            version          bigint  NOT NULL,
            due              integer,
            due_at           bigint,
            document         text    NOT NULL,
            PRIMARY KEY (program, reward_id)
        );
        CREATE INDEX rewards_due ON {s}.rewards (program, due, due_at, reward_id) WHERE due IS NOT NULL;
        CREATE INDEX rewards_by_order ON {s}.rewards (program, order_id, reward_id);
        CREATE INDEX rewards_by_beneficiary ON {s}.rewards (program, beneficiary, conversion_time, reward_id);

        CREATE TABLE {s}.summaries (
            program      text    COLLATE "C" NOT NULL,
            participant  text    COLLATE "C" NOT NULL,
            key          text    COLLATE "C" NOT NULL,
            version      bigint  NOT NULL,
            document     text    NOT NULL,
            PRIMARY KEY (program, participant, key)
        );

        CREATE TABLE {s}.pending_rebuilds (
            program  text COLLATE "C" NOT NULL PRIMARY KEY
        );

        CREATE TABLE {s}.erasures (
            erasure_id   text   COLLATE "C" NOT NULL PRIMARY KEY,
            participant  text   COLLATE "C" NOT NULL,
            at           bigint NOT NULL,
            actor        text   NOT NULL,
            reason       text   NOT NULL
        );
        CREATE INDEX erasures_by_participant ON {s}.erasures (participant, at, erasure_id);

        -- The transactional outbox: written with the change it reports, deleted when delivered.
        CREATE TABLE {s}.pending_notifications (
            id                text    COLLATE "C" NOT NULL PRIMARY KEY,
            kind              integer NOT NULL,
            program           text    COLLATE "C" NOT NULL,
            order_id          text,
            entry_id          text,
            reward_id         text,
            touch_id          text,
            recorded_at       bigint  NOT NULL,
            due_at            bigint  NOT NULL,
            attempts          integer NOT NULL,
            first_attempt_at  bigint,
            last_attempt_at   bigint,
            dead_lettered_at  bigint,
            delivery          text
        );
        CREATE INDEX pending_notifications_due ON {s}.pending_notifications (due_at, id) WHERE dead_lettered_at IS NULL;
        CREATE INDEX pending_notifications_dead_lettered ON {s}.pending_notifications (dead_lettered_at, id) WHERE dead_lettered_at IS NOT NULL;
        """;
}
