using Microsoft.Data.Sqlite;

namespace Referrals.Sqlite;

/// <summary>
/// The schema as forward-only migrations. A released migration is never edited: a change is a new migration with the
/// next version. Each runs in its own <c>BEGIN IMMEDIATE</c> transaction together with the row that records it.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>One step of the schema: its version, what it does, and the SQL.</summary>
    internal sealed record Migration(int Version, string Description, string Sql);

    internal static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "codes, participants, visitor links, touches, conversions, attributions, reward ledger, refunds, fraud history", V1),
        new(2, "code change feed (codes.change_seq) and the notification outbox", V2),
        new(3, "drop two indexes no query uses (conversions by time, credited attributions by customer)", V3),
        new(4, "fewer B-trees per conversion: attributions become columns of their conversion's row, the per-referrer order counts columns of the reward account, ledger entry ids unique per reward", V4),
        new(5, "notification delivery state: due instant, attempts, notifiers told, failures, dead letters; capture notifications by touch id", V5),
        new(6, "presented codes of decided conversions that are not a code are removed (customers typed e-mail addresses and phone numbers there)", V6),
        new(7, "the narrow store contract beside the old tables: order versions, documents and index values Core computes, touches keyed by program, summaries, reward rows with a due index, a ledger of documents, code versions, erasures", V7),
        new(8, "the switch-over to the narrow contract: rows the old store interfaces wrote since version 7 carried over as version 7 carried its rows over, and the programs whose reward rows and summaries Core must build from their orders and ledger", V8),
        new(9, "the old store interfaces' tables, columns, indexes and triggers are dropped: the old touches, reward entries, decisions and accounts with their trigger-kept counters, open rewards, refunded orders, and the v4 attribution columns of conversions", V9),
        new(10, "a code's current version is kept once, in codes (with the instant it took effect, codes.changed_at); code_versions keeps the versions before it", V10),
        new(11, "a program's touches by event time and its reward rows by conversion time (program_touches_by_time, rewards_by_time), for reports and replay", V11),
        new(12, "how many touches and credited orders each referrer has in each hour (referrer_hours), so a count over a day reads 24 rows instead of walking the day's index entries", V12),
    ];

    internal static int LatestVersion => Migrations[^1].Version;

    private const string CreateMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version      INTEGER NOT NULL PRIMARY KEY,
            description  TEXT    NOT NULL,
            applied_at   TEXT    NOT NULL
        ) STRICT;
        """;

    /// <summary>Applies the migrations the database lacks; returns the schema version it has afterwards.</summary>
    /// <exception cref="InvalidOperationException">The database has a schema version this library does not know.</exception>
    internal static int Migrate(SqliteConnection connection, string dataSource)
    {
        // Up to date (every open after the first): a read, no write lock.
        int current = ReadVersion(connection, null);
        CheckNotNewer(current, dataSource);
        foreach (var migration in Migrations)
        {
            if (migration.Version <= current)
            {
                continue;
            }
            // BeginTransaction() without 'deferred' issues BEGIN IMMEDIATE: the write lock is taken before the version is
            // read again, so of two processes migrating a new file at once, the second waits here (busy_timeout), then sees
            // the version the first recorded and skips it.
            using var transaction = connection.BeginTransaction(deferred: false);
            Execute(connection, transaction, CreateMigrationsTable);
            current = ReadVersion(connection, transaction);
            CheckNotNewer(current, dataSource);
            if (migration.Version <= current)
            {
                transaction.Commit();
                continue;
            }
            Execute(connection, transaction, migration.Sql);
            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                // The database's clock: applied_at is for the people who look at the file, no domain decision reads it.
                record.CommandText = """
                    INSERT INTO schema_migrations (version, description, applied_at)
                    VALUES ($version, $description, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
                    """;
                record.Parameters.AddWithValue("$version", migration.Version);
                record.Parameters.AddWithValue("$description", migration.Description);
                record.ExecuteNonQuery();
            }
            transaction.Commit();
            current = migration.Version;
        }
        return current;
    }

    private static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return 0;
        }
        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_migrations;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CheckNotNewer(int version, string dataSource)
    {
        if (version > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The SQLite database '{dataSource}' has schema version {version}; this version of Referrals.Sqlite knows versions up to {LatestVersion}. Upgrade the library; migrations only go forward.");
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // Version 12: the velocity check counts a referrer's touches and credited orders in the day (and hour) before each
    // conversion, and SQLite counts a range by walking its index entries: an influencer with thousands of referrals a day
    // paid for every one of them at every conversion (issue 17: 1.8× at 100,000 referrals packed into 20 days). These are
    // the counts of the rows per referrer and UTC hour (hour = floor(event_time / 36,000,000,000 ticks)), kind 0 for
    // touches (program_touches.referrer) and 1 for orders (conversions.credited_referrer, the value Core computed): a
    // plain aggregate of the rows, kept by the statements that insert and update them (no trigger, no rule: what a row
    // counts for is its column's value). A count over a window adds up the hours it covers whole and walks the index in
    // its two partial hours only. Filled here from the rows a version-11 file holds.
    private const string V12 = """
        CREATE TABLE referrer_hours (
            program   TEXT    NOT NULL,
            referrer  TEXT    NOT NULL,
            kind      INTEGER NOT NULL,
            hour      INTEGER NOT NULL,
            count     INTEGER NOT NULL,
            PRIMARY KEY (program, referrer, kind, hour)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO referrer_hours (program, referrer, kind, hour, count)
        SELECT program, referrer, 0, CASE WHEN event_time >= 0 THEN event_time / 36000000000 ELSE -((-event_time - 1) / 36000000000) - 1 END AS h, count(*)
        FROM program_touches GROUP BY program, referrer, h;
        INSERT INTO referrer_hours (program, referrer, kind, hour, count)
        SELECT program, credited_referrer, 1, CASE WHEN event_time >= 0 THEN event_time / 36000000000 ELSE -((-event_time - 1) / 36000000000) - 1 END AS h, count(*)
        FROM conversions WHERE credited_referrer IS NOT NULL GROUP BY program, credited_referrer, h;
        """;

    // Version 11: reports and replay read a program's touches by (event time, id) and its reward rows by (conversion time,
    // reward id), in pages (IReferralStoreReader.ListProgramTouchesAsync, ListProgramRewardsAsync). No index had those
    // orders, so a page would have read and sorted every touch or reward of the program. Each is one more B-tree a touch
    // or a reward row writes; the reads are ranges of them (the store tests check the plans).
    private const string V11 = """
        CREATE INDEX program_touches_by_time ON program_touches (program, event_time, id);
        CREATE INDEX rewards_by_time ON rewards (program, conversion_time, reward_id);
        """;

    // Version 10: a code's current version was written twice, into codes and into code_versions, so a bulk generation
    // inserted two rows into two B-trees keyed by random codes for every code. Now codes holds the current version with
    // the instant it took effect (changed_at, as code_versions has it), and code_versions the versions before it: a new
    // code is one row, and a change moves the current row into code_versions before it updates codes. A code's history
    // is code_versions then codes, in version order, as before. The current versions' rows leave code_versions here, their
    // instants go to codes (a code without one, which no version of this library wrote, takes its creation instant).
    private const string V10 = """
        ALTER TABLE codes ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
        UPDATE codes SET changed_at = coalesce(
            (SELECT v.changed_at FROM code_versions v WHERE v.code = codes.code AND v.version = codes.version),
            created_at);
        DELETE FROM code_versions
        WHERE EXISTS (SELECT 1 FROM codes c WHERE c.code = code_versions.code AND c.version = code_versions.version);
        """;

    // Version 9: nothing reads or writes the old store interfaces' tables any more (version 8 carried their rows over), so
    // they go, and with them every business rule the schema spelled: the three triggers that kept the per-referrer
    // order counters (reward_accounts.orders and .refunded, the fraud history's), the partial indexes whose WHERE said
    // what "credited" means (reason = 0 AND is_repeat = 0), the open-reward table kept by the reward commit's own reading
    // of the state machine, and the refunded-order marks. The v4 attribution columns of conversions go as well: an
    // order's attribution is its document now (version 7 wrapped the old values into it). SQLite refuses to drop a
    // column an index or trigger names, so those go first; reward_entries before reward_accounts, which it references.
    // DROP COLUMN rewrites the conversions table once per column, inside this one transaction.
    private const string V9 = """
        DROP TRIGGER conversions_credit_taken;
        DROP TRIGGER conversions_credit_given;
        DROP TRIGGER refunded_orders_counted;

        DROP INDEX conversions_credited_by_code;
        DROP INDEX conversions_credited_by_referrer;
        ALTER TABLE conversions DROP COLUMN attribution_customer;
        ALTER TABLE conversions DROP COLUMN conversion_time;
        ALTER TABLE conversions DROP COLUMN reason;
        ALTER TABLE conversions DROP COLUMN is_repeat;
        ALTER TABLE conversions DROP COLUMN referrer;
        ALTER TABLE conversions DROP COLUMN code;
        ALTER TABLE conversions DROP COLUMN decided_at;
        ALTER TABLE conversions DROP COLUMN attribution_detail;

        DROP TABLE touches;
        DROP TABLE open_rewards;
        DROP TABLE reward_decisions;
        DROP TABLE reward_entries;
        DROP TABLE refunded_orders;
        DROP TABLE reward_accounts;
        """;

    // Version 7: the tables and columns of the narrow store contract (IReferralStore), beside those the old store
    // interfaces use, which keep working unchanged until the engine switches over; the switch-over migration then drops
    // the old tables, columns and triggers. Nothing here computes a business value: the new columns and tables hold what
    // Core wrote (versions, documents, plain index values) and the store keeps keys, versions and atomicity.
    // - Orders are the conversions' rows (same key, same contact and fingerprint rows) plus a version, Core's document and
    //   three plain index values. The new contract reads only rows with a document; the old interfaces write none, so
    //   their new inserts stay out of the new partial indexes (no page more per old write). Rows written before this
    //   version are carried over once, mechanically: version 1; the credited referrer and code from the v6 columns with
    //   the v6 predicate (spelled here for this copy only); the counted referrer from the stored reward decision; and a
    //   document that wraps the stored values verbatim under "v": 0 ("sqlite-v6"), which Core reads as a legacy order to
    //   decide again (a store never writes Core's own formats).
    // - Touches get a table keyed by (program, id), the contract's key (the old table refuses an id in any program);
    //   copied once.
    // - The ledger gets a table of documents keyed by (program, reward id, entry id) with the store's sequence; old entries
    //   are copied once with their seq and a "v": 0 wrapper of their columns.
    // - Summaries and reward rows are Core's folds of the ledger: no SQL can make them without deciding a rule, so they
    //   start empty and Core builds them from the ledger and the orders.
    // - Codes stay one table (one change feed for every process's code index); every version written through the contract
    //   is also kept in code_versions, which starts with each code's current version (effective from its creation: the
    //   instant older versions took effect was never stored).
    // - Erasures: the audit rows, host-wide like participants.
    // Version 8: the services switch to the narrow contract, and the old interfaces stop writing. What they wrote since
    // version 7 is carried over as version 7 carried over the rows before it: every order still in the old format (no
    // document, or the format-0 wrapper, which may be stale: the old interfaces kept updating the v6 columns) is wrapped
    // again from its v6 columns and its reward decision; touches and ledger entries the contract's tables lack are
    // copied; a code whose version moved on gets that version in code_versions, effective from its latest known change.
    // Reward rows and summaries are Core's folds of the ledger and the orders, which no SQL may compute: every program
    // with carried-over orders or entries is listed in pending_rebuilds (IReferralStoreReader.ListPendingRebuildsAsync),
    // and Core builds them once, in one unit that removes the program from the list.
    private const string V8 = """
        UPDATE conversions SET
            version = coalesce(version, 1),
            credited_referrer = CASE WHEN reason = 0 AND is_repeat = 0 THEN referrer END,
            credited_code = CASE WHEN reason = 0 AND is_repeat = 0 THEN code END,
            counted_referrer = NULL,
            document = json_object('v', 0, 'legacy', 'sqlite-v6',
                'reason', reason, 'is_repeat', is_repeat, 'referrer', referrer, 'code', code,
                'attribution_customer', attribution_customer, 'decided_at', decided_at,
                'attribution', json(attribution_detail), 'is_new_customer', is_new_customer)
        WHERE document IS NULL OR json_extract(document, '$.v') = 0;
        UPDATE conversions SET
            counted_referrer = CASE WHEN json_extract(d.detail, '$.counted') THEN d.referrer END,
            document = json_set(conversions.document, '$.decision',
                json_object('revision', d.revision, 'referrer', d.referrer, 'referral_seq', d.referral_seq,
                            'decided_at', d.decided_at, 'detail', json(d.detail)))
        FROM reward_decisions d
        WHERE d.program = conversions.program AND d.order_id = conversions.order_id
          AND json_extract(conversions.document, '$.v') = 0;

        INSERT OR IGNORE INTO program_touches (program, id, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at)
        SELECT program, id, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at FROM touches;

        INSERT INTO ledger (program, reward_id, entry_id, recorded_at, document)
        SELECT e.program, e.reward_id, e.entry_id, e.recorded_at,
               json_object('v', 0, 'legacy', 'sqlite-v6', 'beneficiary', e.beneficiary, 'order_id', e.order_id, 'type', e.type,
                           'amount', e.amount, 'currency', e.currency, 'actor', e.actor, 'reason', e.reason, 'reference', e.reference,
                           'terms', json(e.terms))
        FROM reward_entries e
        WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.program = e.program AND l.reward_id = e.reward_id AND l.entry_id = e.entry_id)
        ORDER BY e.seq;

        INSERT OR IGNORE INTO code_versions (code, version, changed_at, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses)
        SELECT c.code, c.version, coalesce((SELECT max(v.changed_at) FROM code_versions v WHERE v.code = c.code), c.created_at),
               c.display, c.program, c.owner, c.medium, c.kind, c.status, c.created_at, c.expires_at, c.max_uses, c.uses
        FROM codes c;

        CREATE TABLE pending_rebuilds (
            program  TEXT NOT NULL PRIMARY KEY
        ) STRICT, WITHOUT ROWID;
        INSERT OR IGNORE INTO pending_rebuilds (program)
        SELECT program FROM conversions WHERE json_extract(document, '$.v') = 0
        UNION
        SELECT program FROM ledger WHERE json_extract(document, '$.v') = 0;
        """;

    private const string V7 = """
        ALTER TABLE conversions ADD COLUMN version INTEGER;
        ALTER TABLE conversions ADD COLUMN document TEXT;
        ALTER TABLE conversions ADD COLUMN credited_referrer TEXT;
        ALTER TABLE conversions ADD COLUMN credited_code TEXT;
        ALTER TABLE conversions ADD COLUMN counted_referrer TEXT;
        UPDATE conversions SET
            version = 1,
            credited_referrer = CASE WHEN reason = 0 AND is_repeat = 0 THEN referrer END,
            credited_code = CASE WHEN reason = 0 AND is_repeat = 0 THEN code END,
            document = json_object('v', 0, 'legacy', 'sqlite-v6',
                'reason', reason, 'is_repeat', is_repeat, 'referrer', referrer, 'code', code,
                'attribution_customer', attribution_customer, 'decided_at', decided_at,
                'attribution', json(attribution_detail), 'is_new_customer', is_new_customer);
        UPDATE conversions SET
            counted_referrer = CASE WHEN json_extract(d.detail, '$.counted') THEN d.referrer END,
            document = json_set(conversions.document, '$.decision',
                json_object('revision', d.revision, 'referrer', d.referrer, 'referral_seq', d.referral_seq,
                            'decided_at', d.decided_at, 'detail', json(d.detail)))
        FROM reward_decisions d
        WHERE d.program = conversions.program AND d.order_id = conversions.order_id;
        CREATE INDEX orders_by_time ON conversions (program, event_time, order_id) WHERE document IS NOT NULL;
        CREATE INDEX orders_by_credited_referrer ON conversions (program, credited_referrer, event_time, order_id) WHERE credited_referrer IS NOT NULL;
        CREATE INDEX orders_by_counted_referrer ON conversions (program, counted_referrer, event_time, order_id) WHERE counted_referrer IS NOT NULL;
        CREATE INDEX orders_by_credited_code ON conversions (credited_code, event_time, order_id) WHERE credited_code IS NOT NULL;

        CREATE TABLE program_touches (
            program      TEXT    NOT NULL,
            id           TEXT    NOT NULL,
            kind         INTEGER NOT NULL,
            referrer     TEXT    NOT NULL,
            code         TEXT,
            medium       INTEGER NOT NULL,
            visitor      TEXT,
            customer     TEXT,
            contact      TEXT,
            store_id     TEXT,
            register_id  TEXT,
            order_id     TEXT,
            event_time   INTEGER NOT NULL,
            recorded_at  INTEGER NOT NULL,
            PRIMARY KEY (program, id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO program_touches (program, id, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at)
        SELECT program, id, kind, referrer, code, medium, visitor, customer, contact, store_id, register_id, order_id, event_time, recorded_at FROM touches;
        CREATE INDEX program_touches_by_customer ON program_touches (program, customer, event_time, id) WHERE customer IS NOT NULL;
        CREATE INDEX program_touches_by_visitor ON program_touches (program, visitor, event_time, id) WHERE visitor IS NOT NULL;
        CREATE INDEX program_touches_by_contact ON program_touches (program, contact, event_time, id) WHERE contact IS NOT NULL;
        CREATE INDEX program_touches_by_referrer ON program_touches (program, referrer, event_time);

        CREATE TABLE ledger (
            seq          INTEGER PRIMARY KEY,
            program      TEXT    NOT NULL,
            reward_id    TEXT    NOT NULL,
            entry_id     TEXT    NOT NULL,
            recorded_at  INTEGER NOT NULL,
            document     TEXT    NOT NULL
        ) STRICT;
        INSERT INTO ledger (seq, program, reward_id, entry_id, recorded_at, document)
        SELECT seq, program, reward_id, entry_id, recorded_at,
               json_object('v', 0, 'legacy', 'sqlite-v6', 'beneficiary', beneficiary, 'order_id', order_id, 'type', type,
                           'amount', amount, 'currency', currency, 'actor', actor, 'reason', reason, 'reference', reference,
                           'terms', json(terms))
        FROM reward_entries ORDER BY seq;
        CREATE UNIQUE INDEX ledger_by_reward ON ledger (program, reward_id, entry_id);
        CREATE INDEX ledger_by_program ON ledger (program);

        CREATE TABLE rewards (
            program          TEXT    NOT NULL,
            reward_id        TEXT    NOT NULL,
            beneficiary      TEXT    NOT NULL,
            order_id         TEXT    NOT NULL,
            conversion_time  INTEGER NOT NULL,
            version          INTEGER NOT NULL,
            due              INTEGER,
            due_at           INTEGER,
            document         TEXT    NOT NULL,
            PRIMARY KEY (program, reward_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX rewards_due ON rewards (program, due, due_at, reward_id) WHERE due IS NOT NULL;
        CREATE INDEX rewards_by_order ON rewards (program, order_id, reward_id);
        CREATE INDEX rewards_by_beneficiary ON rewards (program, beneficiary, conversion_time, reward_id);

        CREATE TABLE summaries (
            program      TEXT    NOT NULL,
            participant  TEXT    NOT NULL,
            key          TEXT    NOT NULL,
            version      INTEGER NOT NULL,
            document     TEXT    NOT NULL,
            PRIMARY KEY (program, participant, key)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE code_versions (
            code        TEXT    NOT NULL,
            version     INTEGER NOT NULL,
            changed_at  INTEGER NOT NULL,
            display     TEXT    NOT NULL,
            program     TEXT    NOT NULL,
            owner       TEXT,
            medium      INTEGER NOT NULL,
            kind        INTEGER NOT NULL,
            status      INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER,
            max_uses    INTEGER,
            uses        INTEGER NOT NULL,
            PRIMARY KEY (code, version)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO code_versions (code, version, changed_at, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses)
        SELECT code, version, created_at, display, program, owner, medium, kind, status, created_at, expires_at, max_uses, uses FROM codes;

        CREATE TABLE erasures (
            erasure_id   TEXT    NOT NULL PRIMARY KEY,
            participant  TEXT    NOT NULL,
            at           INTEGER NOT NULL,
            actor        TEXT    NOT NULL,
            reason       TEXT    NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX erasures_by_participant ON erasures (participant, at, erasure_id);
        """;

    // Version 5: a notification stays until every notifier took it, with its delivery state: when it is due next
    // (due_at: a minute after the commit until an attempt failed, then the backoff Core computes), the attempts that failed
    // and when, the dead-letter instant, and as JSON ('delivery', NULL while empty) the notifiers told and the latest
    // failures (exception types only). A "referral captured" notification names its touch (touch_id) and no order, so
    // order_id becomes nullable: the table is rebuilt (SQLite cannot drop a NOT NULL). Its rows keep what they were, due a
    // minute after their commit as the earlier versions delivered them (600,000,000 ticks: NotificationOutbox.RedeliverAfter
    // as it was when they were written). The index by recorded_at goes: pending notifications are found by due_at among
    // those still tried, dead letters by when they became one — two partial indexes, so a commit's row is in one of them,
    // as before in one index.
    // Version 6: earlier versions kept a conversion's presented code as typed, so an e-mail address or phone number a
    // customer typed into the code box stayed in the file. Core now keeps only what the input resolved to; this removes
    // the old raw values of decided conversions, keeping exact codes. An undecided conversion (its writer stopped before
    // deciding) keeps its value: it is still to be decided from it, and the next decision stores nothing raw anew.
    // secure_delete zeroes the bytes the update frees in the pages it rewrites, instead of leaving them in free space; it
    // is set back off (the library's default) for the connection's later writes.
    private const string V6 = """
        PRAGMA secure_delete = ON;
        UPDATE conversions SET presented_code = NULL
        WHERE presented_code IS NOT NULL AND reason IS NOT NULL
          AND presented_code NOT IN (SELECT code FROM codes);
        PRAGMA secure_delete = OFF;
        """;

    private const string V5 = """
        CREATE TABLE pending_notifications_v5 (
            id                TEXT    NOT NULL PRIMARY KEY,
            kind              INTEGER NOT NULL,
            program           TEXT    NOT NULL,
            order_id          TEXT,
            entry_id          TEXT,
            reward_id         TEXT,
            touch_id          TEXT,
            recorded_at       INTEGER NOT NULL,
            due_at            INTEGER NOT NULL,
            attempts          INTEGER NOT NULL,
            first_attempt_at  INTEGER,
            last_attempt_at   INTEGER,
            dead_lettered_at  INTEGER,
            delivery          TEXT
        ) STRICT, WITHOUT ROWID;
        INSERT INTO pending_notifications_v5 (id, kind, program, order_id, entry_id, reward_id, recorded_at, due_at, attempts)
        SELECT id, kind, program, order_id, entry_id, reward_id, recorded_at, recorded_at + 600000000, 0 FROM pending_notifications;
        DROP TABLE pending_notifications;
        ALTER TABLE pending_notifications_v5 RENAME TO pending_notifications;
        CREATE INDEX pending_notifications_due ON pending_notifications (due_at, id) WHERE dead_lettered_at IS NULL;
        CREATE INDEX pending_notifications_dead_lettered ON pending_notifications (dead_lettered_at, id) WHERE dead_lettered_at IS NOT NULL;
        """;

    // Version 4: every B-tree a conversion writes costs it pages in the log and microseconds, so three go.
    // - An attribution becomes the rest of its conversion's row (it never exists without one): the columns of the former
    //   'attributions' table, with 'attribution_customer' and 'attribution_detail' named apart from the conversion's own.
    //   A conversion without an attribution has NULL in all of them (reason NULL: in no partial index). Saving an
    //   attribution is an UPDATE of the row the conversion wrote: no second B-tree, no existence check, no foreign key.
    // - The fraud history's per-referrer order counts ('orders', 'refunded') live in the referrer's reward_accounts row,
    //   which a rewarded conversion writes anyway (its version); a row the triggers create has version 0, which is what
    //   an account without a row has.
    // - Ledger entry ids are unique per reward (the store contract's rule from this version; the library's entry ids
    //   begin with the reward id, so they are unique anywhere): one unique index by reward and entry id serves that and
    //   a reward's entries, where two indexes did. The table is rebuilt without UNIQUE (program, entry_id); seq is kept.
    //   A pending notification of a ledger entry records the entry's reward too (NULL on those stored before).
    // The old triggers go first, so that copying the attributions into the conversions counts nothing twice.
    private const string V4 = """
        DROP TRIGGER attributions_credit_added;
        DROP TRIGGER attributions_credit_taken;
        DROP TRIGGER attributions_credit_given;
        DROP TRIGGER refunded_orders_added;

        ALTER TABLE conversions ADD COLUMN attribution_customer TEXT;
        ALTER TABLE conversions ADD COLUMN conversion_time INTEGER;
        ALTER TABLE conversions ADD COLUMN reason INTEGER;
        ALTER TABLE conversions ADD COLUMN is_repeat INTEGER;
        ALTER TABLE conversions ADD COLUMN referrer TEXT;
        ALTER TABLE conversions ADD COLUMN code TEXT;
        ALTER TABLE conversions ADD COLUMN decided_at INTEGER;
        ALTER TABLE conversions ADD COLUMN attribution_detail TEXT;
        UPDATE conversions SET
            attribution_customer = a.customer, conversion_time = a.conversion_time, reason = a.reason,
            is_repeat = a.is_repeat, referrer = a.referrer, code = a.code, decided_at = a.decided_at,
            attribution_detail = a.detail
        FROM attributions a
        WHERE a.program = conversions.program AND a.order_id = conversions.order_id;
        DROP TABLE attributions;
        CREATE INDEX conversions_credited_by_code ON conversions (code, conversion_time, order_id) WHERE reason = 0 AND is_repeat = 0 AND code IS NOT NULL;
        CREATE INDEX conversions_credited_by_referrer ON conversions (program, referrer, conversion_time, order_id) WHERE reason = 0 AND is_repeat = 0;

        ALTER TABLE reward_accounts ADD COLUMN orders INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reward_accounts ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
        INSERT INTO reward_accounts (program, beneficiary, version, orders, refunded)
        SELECT program, referrer, 0, orders, refunded FROM referrer_order_stats WHERE true
        ON CONFLICT (program, beneficiary) DO UPDATE SET orders = excluded.orders, refunded = excluded.refunded;
        DROP TABLE referrer_order_stats;

        -- The credit of an order (attributed, not a repeat, naming a referrer) moves with every write of its attribution
        -- (an UPDATE of the conversion's row naming these columns); a refund counts for whoever holds the credit then or later.
        CREATE TRIGGER conversions_credit_taken AFTER UPDATE OF reason, is_repeat, referrer ON conversions
        WHEN OLD.reason = 0 AND OLD.is_repeat = 0 AND OLD.referrer IS NOT NULL
        BEGIN
            UPDATE reward_accounts SET
                orders = orders - 1,
                refunded = refunded - EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = OLD.program AND r.order_id = OLD.order_id)
            WHERE program = OLD.program AND beneficiary = OLD.referrer;
        END;

        CREATE TRIGGER conversions_credit_given AFTER UPDATE OF reason, is_repeat, referrer ON conversions
        WHEN NEW.reason = 0 AND NEW.is_repeat = 0 AND NEW.referrer IS NOT NULL
        BEGIN
            INSERT INTO reward_accounts (program, beneficiary, version, orders, refunded)
            VALUES (NEW.program, NEW.referrer, 0, 1,
                    EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = NEW.program AND r.order_id = NEW.order_id))
            ON CONFLICT (program, beneficiary) DO UPDATE SET
                orders = orders + 1, refunded = refunded + excluded.refunded;
        END;

        CREATE TRIGGER refunded_orders_counted AFTER INSERT ON refunded_orders
        BEGIN
            UPDATE reward_accounts SET refunded = refunded + 1
            WHERE program = NEW.program
              AND beneficiary = (SELECT c.referrer FROM conversions c
                                 WHERE c.program = NEW.program AND c.order_id = NEW.order_id AND c.reason = 0 AND c.is_repeat = 0);
        END;

        CREATE TABLE reward_entries_v4 (
            seq          INTEGER PRIMARY KEY,
            program      TEXT    NOT NULL,
            entry_id     TEXT    NOT NULL,
            reward_id    TEXT    NOT NULL,
            beneficiary  TEXT    NOT NULL,
            order_id     TEXT    NOT NULL,
            type         INTEGER NOT NULL,
            amount       TEXT    NOT NULL,
            currency     TEXT    NOT NULL,
            recorded_at  INTEGER NOT NULL,
            actor        TEXT,
            reason       TEXT,
            reference    TEXT,
            terms        TEXT,
            FOREIGN KEY (program, beneficiary) REFERENCES reward_accounts (program, beneficiary)
        ) STRICT;
        INSERT INTO reward_entries_v4 (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms)
        SELECT seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms
        FROM reward_entries ORDER BY seq;
        DROP TABLE reward_entries;
        ALTER TABLE reward_entries_v4 RENAME TO reward_entries;
        CREATE UNIQUE INDEX reward_entries_by_reward ON reward_entries (program, reward_id, entry_id);
        ALTER TABLE pending_notifications ADD COLUMN reward_id TEXT;
        CREATE INDEX reward_entries_by_order ON reward_entries (program, order_id, seq);
        CREATE INDEX reward_entries_by_beneficiary ON reward_entries (program, beneficiary, seq);
        """;

    // Version 3: every index is one more page written by each conversion. Listing a program's conversions scans its
    // primary-key range and sorts in .NET (a repair job); a customer's first credited attribution is found through
    // conversions_by_customer.
    private const string V3 = """
        DROP INDEX IF EXISTS conversions_by_time;
        DROP INDEX IF EXISTS attributions_credited_by_customer;
        """;

    // Version 2: every insert and update of a code takes the next change_seq (max + 1, inside the writing transaction,
    // so positions follow commit order), which lets other processes' code indexes catch up (IReferralCodeChangeFeed).
    // Codes that exist get positions in code order. Also the outbox of pending notifications (PendingNotification).
    private const string V2 = """
        ALTER TABLE codes ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
        UPDATE codes SET change_seq = numbered.n
        FROM (SELECT code, row_number() OVER (ORDER BY code) AS n FROM codes) AS numbered
        WHERE codes.code = numbered.code;
        CREATE INDEX codes_by_change ON codes (change_seq);

        -- The transactional outbox: notifications written with the change they report, deleted when delivered.
        CREATE TABLE pending_notifications (
            id           TEXT    NOT NULL PRIMARY KEY,
            kind         INTEGER NOT NULL,
            program      TEXT    NOT NULL,
            order_id     TEXT    NOT NULL,
            entry_id     TEXT,
            recorded_at  INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX pending_notifications_by_time ON pending_notifications (recorded_at, id);
        """;

    // Version 1: the tables of every store interface. Codes, participants (with contacts, fingerprints and visitor links),
    // touches, conversions (with contacts and fingerprints), attributions, the reward ledger, reward decisions, refunds and
    // the fraud history (indexes over those tables, plus per-referrer order counts kept by triggers).
    // Conventions: STRICT tables; instants INTEGER Unix ticks; money an exact decimal TEXT (invariant culture) plus a
    // currency; enumerations INTEGER; contact hashes and fingerprints their stored string forms; records with nested
    // lists nothing filters on keep those parts as JSON in a 'detail' (or 'terms') column.
    private const string V1 = """
        -- Referral codes, one row per normalised code: the primary key is the unique index the store relies on.
        CREATE TABLE codes (
            code        TEXT    NOT NULL PRIMARY KEY,
            display     TEXT    NOT NULL,
            program     TEXT    NOT NULL,
            owner       TEXT,
            medium      INTEGER NOT NULL,
            kind        INTEGER NOT NULL,
            status      INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER,
            max_uses    INTEGER,
            uses        INTEGER NOT NULL,
            version     INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX codes_by_owner ON codes (program, owner, code) WHERE owner IS NOT NULL;

        CREATE TABLE participants (
            id            TEXT    NOT NULL PRIMARY KEY,
            kind          INTEGER NOT NULL,
            masked_email  TEXT,
            masked_phone  TEXT
        ) STRICT, WITHOUT ROWID;

        -- A participant's contact hashes in the order given, and the index to find participants by one.
        CREATE TABLE participant_contacts (
            participant  TEXT    NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
            ordinal      INTEGER NOT NULL,
            contact      TEXT    NOT NULL,
            PRIMARY KEY (participant, ordinal)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX participant_contacts_by_contact ON participant_contacts (contact, participant);

        -- A participant's fingerprints in the order given; the index serves the fraud look-up of registrations.
        CREATE TABLE participant_fingerprints (
            participant  TEXT    NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
            ordinal      INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            PRIMARY KEY (participant, ordinal)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX participant_fingerprints_by_fingerprint ON participant_fingerprints (fingerprint, participant);

        -- Visitor or device ids linked to a customer id; the customer need not be registered as a participant.
        CREATE TABLE visitor_links (
            participant  TEXT NOT NULL,
            visitor      TEXT NOT NULL,
            PRIMARY KEY (participant, visitor)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX visitor_links_by_visitor ON visitor_links (visitor);

        -- Touches, unique by id. The partial indexes find a prospect's touches by customer, visitor or contact.
        CREATE TABLE touches (
            id           TEXT    NOT NULL PRIMARY KEY,
            program      TEXT    NOT NULL,
            kind         INTEGER NOT NULL,
            referrer     TEXT    NOT NULL,
            code         TEXT,
            medium       INTEGER NOT NULL,
            visitor      TEXT,
            customer     TEXT,
            contact      TEXT,
            store_id     TEXT,
            register_id  TEXT,
            order_id     TEXT,
            event_time   INTEGER NOT NULL,
            recorded_at  INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX touches_by_customer ON touches (program, customer, event_time, id) WHERE customer IS NOT NULL;
        CREATE INDEX touches_by_visitor ON touches (program, visitor, event_time, id) WHERE visitor IS NOT NULL;
        CREATE INDEX touches_by_contact ON touches (program, contact, event_time, id) WHERE contact IS NOT NULL;
        -- Fraud: referrals captured per referrer in a time range.
        CREATE INDEX touches_by_referrer ON touches (program, referrer, event_time);

        -- Conversions, unique by program and order id (the idempotency key).
        CREATE TABLE conversions (
            program          TEXT    NOT NULL,
            order_id         TEXT    NOT NULL,
            customer         TEXT    NOT NULL,
            amount           TEXT    NOT NULL,
            currency         TEXT    NOT NULL,
            event_time       INTEGER NOT NULL,
            channel          INTEGER NOT NULL,
            store_id         TEXT,
            visitor          TEXT,
            is_new_customer  INTEGER,
            presented_code   TEXT,
            register_id      TEXT,
            PRIMARY KEY (program, order_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX conversions_by_customer ON conversions (program, customer, event_time, order_id);
        CREATE INDEX conversions_by_time ON conversions (program, event_time, order_id);

        CREATE TABLE conversion_contacts (
            program   TEXT    NOT NULL,
            order_id  TEXT    NOT NULL,
            ordinal   INTEGER NOT NULL,
            contact   TEXT    NOT NULL,
            PRIMARY KEY (program, order_id, ordinal),
            FOREIGN KEY (program, order_id) REFERENCES conversions (program, order_id) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID;

        -- Fingerprints an order carried; customer and event time are copied from the order for the fraud look-up
        -- (who was seen with a fingerprint before a time, latest first).
        CREATE TABLE conversion_fingerprints (
            program      TEXT    NOT NULL,
            order_id     TEXT    NOT NULL,
            ordinal      INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            customer     TEXT    NOT NULL,
            event_time   INTEGER NOT NULL,
            PRIMARY KEY (program, order_id, ordinal),
            FOREIGN KEY (program, order_id) REFERENCES conversions (program, order_id) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX conversion_fingerprints_by_fingerprint ON conversion_fingerprints (program, fingerprint, event_time, order_id);

        -- The current attribution of each order (a re-evaluation replaces it). reason 0 is 'attributed'; the partial
        -- indexes hold the credited (attributed, not repeat) orders: a customer's first referral, a code's uses before
        -- a conversion, a referrer's credited orders (fraud).
        CREATE TABLE attributions (
            program          TEXT    NOT NULL,
            order_id         TEXT    NOT NULL,
            customer         TEXT    NOT NULL,
            conversion_time  INTEGER NOT NULL,
            reason           INTEGER NOT NULL,
            is_repeat        INTEGER NOT NULL,
            referrer         TEXT,
            code             TEXT,
            decided_at       INTEGER NOT NULL,
            detail           TEXT    NOT NULL,
            PRIMARY KEY (program, order_id),
            FOREIGN KEY (program, order_id) REFERENCES conversions (program, order_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX attributions_credited_by_customer ON attributions (program, customer, conversion_time, order_id) WHERE reason = 0 AND is_repeat = 0;
        CREATE INDEX attributions_credited_by_code ON attributions (code, conversion_time, order_id) WHERE reason = 0 AND is_repeat = 0 AND code IS NOT NULL;
        CREATE INDEX attributions_credited_by_referrer ON attributions (program, referrer, conversion_time, order_id) WHERE reason = 0 AND is_repeat = 0;

        -- Reward accounts: the optimistic-concurrency version per beneficiary.
        CREATE TABLE reward_accounts (
            program      TEXT    NOT NULL,
            beneficiary  TEXT    NOT NULL,
            version      INTEGER NOT NULL,
            PRIMARY KEY (program, beneficiary)
        ) STRICT, WITHOUT ROWID;

        -- The append-only reward ledger; seq is the order entries were written in. terms: the JSON of RewardTerms, on
        -- Earned entries only.
        CREATE TABLE reward_entries (
            seq          INTEGER PRIMARY KEY,
            program      TEXT    NOT NULL,
            entry_id     TEXT    NOT NULL,
            reward_id    TEXT    NOT NULL,
            beneficiary  TEXT    NOT NULL,
            order_id     TEXT    NOT NULL,
            type         INTEGER NOT NULL,
            amount       TEXT    NOT NULL,
            currency     TEXT    NOT NULL,
            recorded_at  INTEGER NOT NULL,
            actor        TEXT,
            reason       TEXT,
            reference    TEXT,
            terms        TEXT,
            UNIQUE (program, entry_id),
            FOREIGN KEY (program, beneficiary) REFERENCES reward_accounts (program, beneficiary)
        ) STRICT;
        CREATE INDEX reward_entries_by_order ON reward_entries (program, order_id, seq);
        CREATE INDEX reward_entries_by_reward ON reward_entries (program, reward_id, seq);
        CREATE INDEX reward_entries_by_beneficiary ON reward_entries (program, beneficiary, seq);

        -- Rewards still pending or approved, kept current by the commits. from_seq is the seq of the Earned entry that
        -- opened the reward: its entries from there on are the open reward's.
        CREATE TABLE open_rewards (
            program    TEXT    NOT NULL,
            reward_id  TEXT    NOT NULL,
            from_seq   INTEGER NOT NULL,
            PRIMARY KEY (program, reward_id)
        ) STRICT, WITHOUT ROWID;

        -- The current reward decision of each order. referral_seq orders the decisions of one referrer: every write of a
        -- decision crediting a referrer takes the next number of that referrer (0 when it credits nobody), so an account's
        -- referrals list in the order they were decided. detail: the JSON of the rest of the RewardDecision.
        CREATE TABLE reward_decisions (
            program       TEXT    NOT NULL,
            order_id      TEXT    NOT NULL,
            revision      INTEGER NOT NULL,
            referrer      TEXT,
            referral_seq  INTEGER NOT NULL,
            decided_at    INTEGER NOT NULL,
            detail        TEXT    NOT NULL,
            PRIMARY KEY (program, order_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX reward_decisions_by_referrer ON reward_decisions (program, referrer, referral_seq) WHERE referrer IS NOT NULL;

        CREATE TABLE refunds (
            seq            INTEGER PRIMARY KEY,
            program        TEXT    NOT NULL,
            refund_id      TEXT    NOT NULL,
            order_id       TEXT    NOT NULL,
            amount         TEXT    NOT NULL,
            currency       TEXT    NOT NULL,
            event_time     INTEGER NOT NULL,
            is_chargeback  INTEGER NOT NULL,
            UNIQUE (program, refund_id)
        ) STRICT;
        CREATE INDEX refunds_by_order ON refunds (program, order_id, seq);

        -- Fraud: orders refunded in full or charged back, written with the refund that completes them (only for an order
        -- whose conversion is recorded by then). Never removed.
        CREATE TABLE refunded_orders (
            program   TEXT NOT NULL,
            order_id  TEXT NOT NULL,
            PRIMARY KEY (program, order_id)
        ) STRICT, WITHOUT ROWID;

        -- Fraud: per referrer, the orders credited to them (attributions with reason 0, not repeats, naming them) and how
        -- many of those are in refunded_orders. Kept by the triggers below inside the statement that changes an
        -- attribution or marks an order refunded, so the counts move with the credit when a re-evaluation moves an order
        -- to another referrer (or takes it away), and a refund counts for whoever holds the credit then or later.
        CREATE TABLE referrer_order_stats (
            program   TEXT    NOT NULL,
            referrer  TEXT    NOT NULL,
            orders    INTEGER NOT NULL,
            refunded  INTEGER NOT NULL,
            PRIMARY KEY (program, referrer)
        ) STRICT, WITHOUT ROWID;

        CREATE TRIGGER attributions_credit_added AFTER INSERT ON attributions
        WHEN NEW.reason = 0 AND NEW.is_repeat = 0 AND NEW.referrer IS NOT NULL
        BEGIN
            INSERT INTO referrer_order_stats (program, referrer, orders, refunded)
            VALUES (NEW.program, NEW.referrer, 1,
                    EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = NEW.program AND r.order_id = NEW.order_id))
            ON CONFLICT (program, referrer) DO UPDATE SET
                orders = orders + 1, refunded = refunded + excluded.refunded;
        END;

        CREATE TRIGGER attributions_credit_taken AFTER UPDATE ON attributions
        WHEN OLD.reason = 0 AND OLD.is_repeat = 0 AND OLD.referrer IS NOT NULL
        BEGIN
            UPDATE referrer_order_stats SET
                orders = orders - 1,
                refunded = refunded - EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = OLD.program AND r.order_id = OLD.order_id)
            WHERE program = OLD.program AND referrer = OLD.referrer;
        END;

        CREATE TRIGGER attributions_credit_given AFTER UPDATE ON attributions
        WHEN NEW.reason = 0 AND NEW.is_repeat = 0 AND NEW.referrer IS NOT NULL
        BEGIN
            INSERT INTO referrer_order_stats (program, referrer, orders, refunded)
            VALUES (NEW.program, NEW.referrer, 1,
                    EXISTS (SELECT 1 FROM refunded_orders r WHERE r.program = NEW.program AND r.order_id = NEW.order_id))
            ON CONFLICT (program, referrer) DO UPDATE SET
                orders = orders + 1, refunded = refunded + excluded.refunded;
        END;

        CREATE TRIGGER refunded_orders_added AFTER INSERT ON refunded_orders
        BEGIN
            UPDATE referrer_order_stats SET refunded = refunded + 1
            WHERE program = NEW.program
              AND referrer = (SELECT a.referrer FROM attributions a
                              WHERE a.program = NEW.program AND a.order_id = NEW.order_id AND a.reason = 0 AND a.is_repeat = 0);
        END;
        """;
}
