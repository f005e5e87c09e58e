using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>What only a database file has: durability across reopening, migrations, the file's settings and stored forms.</summary>
public sealed class SqliteReferralStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Everything_written_is_read_back_after_the_store_is_reopened()
    {
        string path = _directory.NewDatabasePath();
        var updated = Changed(Record(Code("KEEP1"), owner: "jane"), expiresAt: Start + Duration.FromDays(3), maxUses: 10);
        var bulk = Enumerable.Range(0, 50).Select(n => Changed(Record(Code(n), owner: null), kind: CodeKind.Bulk)).ToList();
        var jane = new Participant
        {
            Id = new ParticipantId("jane"),
            Kind = ParticipantKind.Partner,
            Contacts = [Email(1), Phone(1)],
            Fingerprints = [Device(1), Card(1)],
            MaskedEmail = "j***@example.com",
        };

        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            Assert.True(await store.TryAddAsync(updated, Ct));
            Assert.True(await store.TryUpdateAsync(Changed(updated, version: 2, uses: 4), Ct));
            Assert.True(await store.AddManyAsync(bulk, Ct));
            await WrittenAsync(store, new UnitOfWork(participants: [jane], visitorLinks: [new VisitorLink("v-2", jane.Id), new VisitorLink("v-1", jane.Id)]));
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            Assert.Equal(Changed(updated, version: 2, uses: 4), await reopened.FindAsync(updated.Code, Ct));
            Assert.False(await reopened.TryAddAsync(Record(Code("KEEP1"), owner: "john"), Ct));
            Assert.False(await reopened.TryUpdateAsync(Changed(updated, version: 2), Ct));
            var all = new List<ReferralCodeRecord>();
            await foreach (var r in reopened.ListAllAsync(Ct))
            {
                all.Add(r);
            }
            Assert.Equal(51, all.Count);
            Assert.All(bulk, b => Assert.Contains(b, all));

            IReferralStore contract = reopened;
            var read = await contract.FindParticipantAsync(jane.Id, Ct);
            Assert.NotNull(read);
            Assert.Equal(jane.Kind, read.Kind);
            Assert.Equal(jane.Contacts, read.Contacts);
            Assert.Equal(jane.Fingerprints, read.Fingerprints);
            Assert.Equal(jane.MaskedEmail, read.MaskedEmail);
            Assert.Null(read.MaskedPhone);
            Assert.Equal(["jane"], (await contract.FindParticipantsByContactAsync(Phone(1), Ct)).Select(p => p.Id.Value));
            Assert.Equal(["v-1", "v-2"], await contract.ListVisitorsAsync(jane.Id, Ct));
        }

        // Reopening applied nothing again.
        Assert.Equal(SqliteSchema.Migrations.Select(m => (long)m.Version), AppliedVersions(path));
    }

    [Fact]
    public async Task Two_stores_opening_the_same_new_file_at_once_both_succeed_and_each_migration_is_applied_once()
    {
        // Repeated on fresh files: each round is one race of two openers on a file neither has seen.
        for (int round = 0; round < 20; round++)
        {
            string path = _directory.NewDatabasePath($"race{round}");
            using var start = new Barrier(2);
            var opening = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait(Ct);
                return SqliteReferralStore.OpenFile(path);
            }, Ct)).ToArray();
            var stores = await Task.WhenAll(opening);
            try
            {
                Assert.Equal(SqliteSchema.Migrations.Select(m => (long)m.Version), AppliedVersions(path));
                // Both work on the same data.
                Assert.True(await stores[0].TryAddAsync(Record(Code("SHARED1")), Ct));
                Assert.False(await stores[1].TryAddAsync(Record(Code("SHARED1"), owner: "other"), Ct));
                Assert.Equal("c-1", (await stores[1].FindAsync(Code("SHARED1"), Ct))!.Owner!.Value.Value);
            }
            finally
            {
                foreach (var s in stores)
                {
                    s.Dispose();
                }
            }
        }
    }

    [Fact]
    public void A_new_file_is_in_WAL_mode_with_the_latest_schema_version_recorded()
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }

        using var connection = OpenRaw(path);
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode;"));
        Assert.Equal(5L, Scalar(connection, "SELECT count(*) FROM schema_migrations WHERE version IN (1, 2, 3, 4, 5) AND applied_at LIKE '____-__-__T__:__:__.___Z';"));
        // Version 3 dropped the indexes no query used, version 4 the attributions' and referrer counts' own tables and the
        // ledger's index by entry id alone: every B-tree costs each conversion page writes.
        Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name IN ('conversions_by_time', 'attributions_credited_by_customer', 'sqlite_autoindex_reward_entries_1');"));
        // Version 5: pending notifications are found by due instant and dead letters apart, no longer by commit time.
        Assert.Equal(
            ["pending_notifications_dead_lettered", "pending_notifications_due"],
            Column<string>(connection, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'pending_notifications' AND sql IS NOT NULL ORDER BY name;"));
        // Version 7 added the store contract's tables (code_versions, erasures, ledger, program_touches, rewards, summaries);
        // version 9 dropped the old interfaces' (touches, reward entries, decisions, accounts, open rewards, refunded orders).
        string[] tables =
        [
            "code_versions", "codes", "conversion_contacts", "conversion_fingerprints", "conversions", "erasures", "ledger",
            "participant_contacts", "participant_fingerprints", "participants", "pending_notifications", "pending_rebuilds", "program_touches",
            "referrer_hours", "refunds", "rewards", "schema_migrations", "summaries", "visitor_links",
        ];
        Assert.Equal(tables, Column<string>(connection, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;"));
    }

    [Fact]
    public async Task A_file_of_schema_version_3_keeps_its_decisions_and_ledger_when_opened()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        const string Detail = """{"amount":"50","currency":"EUR","channel":1,"medium":1,"chain":["ana"],"touches":[]}""";
        using (var connection = OpenRaw(path))
        {
            // Version 3 as an earlier library left it: o-1 and o-2 credited to ana (o-2 refunded), o-3 not attributed,
            // o-4 without an attribution (the old triggers count ana's orders in referrer_order_stats); two entries of ana's
            // reward.
            Execute(connection, $"""
                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
                {SqliteSchema.Migrations[0].Sql}
                {SqliteSchema.Migrations[1].Sql}
                {SqliteSchema.Migrations[2].Sql}
                INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z'), (2, 'v2', '2026-11-01T00:00:00Z'), (3, 'v3', '2026-11-01T00:00:00Z');
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel)
                VALUES ('customers', 'o-1', 'c-1', '50', 'EUR', {t}, 1), ('customers', 'o-2', 'c-2', '50', 'EUR', {t + 10}, 1),
                       ('customers', 'o-3', 'c-3', '50', 'EUR', {t + 20}, 1), ('customers', 'o-4', 'c-4', '50', 'EUR', {t + 30}, 1);
                INSERT INTO refunded_orders (program, order_id) VALUES ('customers', 'o-2');
                INSERT INTO attributions (program, order_id, customer, conversion_time, reason, is_repeat, referrer, code, decided_at, detail)
                VALUES ('customers', 'o-1', 'c-1', {t}, 0, 0, 'ana', 'ANA2026', {t + 1}, '{Detail}'),
                       ('customers', 'o-2', 'c-2', {t + 10}, 0, 0, 'ana', 'ANA2026', {t + 11}, '{Detail}'),
                       ('customers', 'o-3', 'c-3', {t + 20}, 1, 0, NULL, NULL, {t + 21}, '{Detail}');
                INSERT INTO reward_accounts (program, beneficiary, version) VALUES ('customers', 'ana', 2);
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at)
                VALUES (1, 'customers', 'r-1:earned', 'r-1', 'ana', 'o-1', {(int)RewardEntryType.Earned}, '10', 'EUR', {t + 1}),
                       (2, 'customers', 'r-1:approved', 'r-1', 'ana', 'o-1', {(int)RewardEntryType.Approved}, '0', 'EUR', {t + 2});
                INSERT INTO open_rewards (program, reward_id, from_seq) VALUES ('customers', 'r-1', 1);
                """);
            Assert.Equal("2/1/2", Scalar(connection, "SELECT s.orders || '/' || s.refunded || '/' || a.version FROM referrer_order_stats s, reward_accounts a;"));
        }

        await using var store = SqliteReferralStore.OpenFile(path);

        Assert.Equal(SqliteSchema.Migrations.Select(m => (long)m.Version), AppliedVersions(path));
        IReferralStore contract = store;
        var ana = new ParticipantId("ana");
        // The orders carry their decisions over (the credit as the v3 rows held it), the undecided o-4 too; the ledger
        // keeps its entries and their sequence.
        var first = await contract.FindOrderAsync(Program, "o-1", Ct);
        Assert.Equal((ana, "ANA2026", "c-1", 50m), (first!.CreditedReferrer, first.CreditedCode?.Value, first.Conversion.Customer.Value, first.Conversion.Amount.Amount));
        Assert.Null((await contract.FindOrderAsync(Program, "o-3", Ct))!.CreditedReferrer);
        Assert.NotNull(await contract.FindOrderAsync(Program, "o-4", Ct));
        Assert.Equal(2, await contract.CountCreditedOrdersAsync(Program, ana, Start, Start + Duration.FromMinutes(1), 10, Ct));
        Assert.Equal(1, await contract.CountCodeUsesAsync(Code("ANA2026"), new ListPosition(Start + Duration.FromTicks(10), "o-2"), 10, Ct));
        Assert.Equal([(1L, "r-1:earned"), (2L, "r-1:approved")], (await contract.ListLedgerAsync(Program, 0, 10, Ct)).Select(e => (e.Sequence, e.EntryId)));
        Assert.Equal(["r-1:earned", "r-1:approved"], (await contract.ListEntriesAsync(Program, "r-1", Ct)).Select(e => e.EntryId));
        // Nothing of the counters the old triggers kept is left.
        using var raw = OpenRaw(path);
        Assert.Equal(0L, Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' OR name IN ('referrer_order_stats', 'reward_accounts', 'refunded_orders', 'open_rewards');"));
    }

    [Fact]
    public void A_file_with_a_newer_schema_is_refused()
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        using (var connection = OpenRaw(path))
        {
            Execute(connection, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00.000Z');");
        }
        SqliteConnection.ClearAllPools();

        var e = Assert.Throws<InvalidOperationException>(() => SqliteReferralStore.OpenFile(path));
        Assert.Contains("99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_hold_the_documented_stored_forms()
    {
        string path = _directory.NewDatabasePath();
        var created = Start + Duration.FromTicks(7);
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            Assert.True(await store.TryAddAsync(Changed(Record(Code("F0RM1")), createdAt: created, medium: ShareMedium.Kiosk), Ct));
            await WrittenAsync(store, new UnitOfWork(participants: [new Participant { Id = new ParticipantId("jane"), Contacts = [Phone(5)], Fingerprints = [Device(5)] }]));
        }

        using var connection = OpenRaw(path);
        Assert.Equal(created.ToUnixTimeTicks(), Scalar(connection, "SELECT created_at FROM codes WHERE code = 'F0RM1';"));
        Assert.Equal((long)ShareMedium.Kiosk, Scalar(connection, "SELECT medium FROM codes WHERE code = 'F0RM1';"));
        Assert.Equal(Phone(5).ToString(), Scalar(connection, "SELECT contact FROM participant_contacts WHERE participant = 'jane';"));
        Assert.Equal(Device(5).ToString(), Scalar(connection, "SELECT fingerprint FROM participant_fingerprints WHERE participant = 'jane';"));
    }

    [Fact]
    public async Task A_row_that_is_not_a_stored_form_fails_with_InvalidDataException()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        Assert.True(await store.TryAddAsync(Record(Code("G00D1")), Ct));
        await WrittenAsync(store, new UnitOfWork(participants: [Person("jane", Email(1))]));
        using (var connection = OpenRaw(path))
        {
            Execute(connection, "UPDATE codes SET code = 'bad code!' WHERE code = 'G00D1';");
            Execute(connection, "UPDATE participant_contacts SET contact = 'e:not-a-hash' WHERE participant = 'jane';");
        }

        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in store.ListAllAsync(Ct))
            {
            }
        });
        await Assert.ThrowsAsync<InvalidDataException>(async () => await ((IReferralStore)store).FindParticipantAsync(new ParticipantId("jane"), Ct));
    }

    [Theory]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=shared;Mode=Memory;Cache=Shared")]
    [InlineData("Data Source=file::memory:")]
    [InlineData("Data Source=x.db;Mode=ReadOnly")]
    [InlineData("Mode=ReadWriteCreate")]
    [InlineData("Data Source")]
    [InlineData("  ")]
    public void Connection_strings_without_a_writable_file_are_refused(string connectionString)
    {
        Assert.Throws<ArgumentException>(() => SqliteReferralStore.Open(connectionString));
    }

    [Fact]
    public void A_relative_path_is_resolved_once_against_the_current_directory()
    {
        var (connectionString, dataSource, _) = SqliteReferralStore.NormalizeConnectionString("Data Source=relative.db;Default Timeout=5");

        Assert.Equal(Path.GetFullPath("relative.db"), dataSource);
        Assert.Equal(dataSource, new SqliteConnectionStringBuilder(connectionString).DataSource);
        Assert.False(File.Exists(dataSource)); // checked, not opened
    }

    [Theory]
    [InlineData("Data Source=x.db", 30_000)]
    [InlineData("Data Source=x.db;Default Timeout=5", 5_000)]
    [InlineData("Data Source=x.db;Default Timeout=0", int.MaxValue)]
    public void The_busy_timeout_follows_the_default_timeout(string connectionString, int expectedMilliseconds)
    {
        Assert.Equal(expectedMilliseconds, SqliteReferralStore.NormalizeConnectionString(connectionString).BusyTimeoutMilliseconds);
    }

    [Fact]
    public async Task A_write_waits_for_another_connections_write_lock_up_to_the_default_timeout()
    {
        string path = _directory.NewDatabasePath();
        await using var patient = SqliteReferralStore.OpenFile(path);
        await using var impatient = SqliteReferralStore.Open($"Data Source={path};Default Timeout=1");

        // Another process (here: a raw connection) inserts the same code and holds its transaction open.
        using var other = OpenRaw(path);
        using (var transaction = other.BeginTransaction(deferred: false))
        {
            using (var insert = other.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO codes (code, display, program, medium, kind, status, created_at, uses, version) VALUES ('XYZ789', 'XYZ789', 'customers', 0, 1, 1, 0, 0, 1);";
                insert.ExecuteNonQuery();
            }

            // Beyond a 1 s timeout: fails with the database's busy error.
            var busy = await Assert.ThrowsAsync<SqliteException>(async () => await impatient.TryAddAsync(Record(Code("OTHER1")), Ct));
            Assert.Equal(5, busy.SqliteErrorCode); // SQLITE_BUSY

            // Within the 30 s default: waits for the commit, then sees the other's row.
            // Microsoft.Data.Sqlite runs its async methods synchronously, so the waiting write gets a thread of its own.
            var waiting = Task.Run(async () => await patient.TryAddAsync(Record(Code("XYZ789")), Ct), Ct);
            await Task.Delay(200, Ct);
            Assert.False(waiting.IsCompleted);
            transaction.Commit();
            Assert.False(await waiting);
        }
        Assert.Equal("customers", (await patient.FindAsync(Code("XYZ789"), Ct))!.Program.Value);
    }

    [Fact]
    public async Task A_disposed_store_refuses_operations()
    {
        var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        await store.DisposeAsync();
        store.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.FindAsync(Code("ANY1"), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.TryAddAsync(Record(Code("ANY1")), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await ((IReferralStore)store).BeginAsync(Ct));
    }

    [Fact]
    public async Task Default_values_no_parser_makes_are_refused_instead_of_stored()
    {
        await using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        IReferralStore contract = store;
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddAsync(Record(default), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await WriteAsync(store, new UnitOfWork(participants: [Person("jane", new Referrals.Privacy.ContactHash[] { default })])));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddTouchAsync(NewTouch(null!, Start), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddTouchAsync(NewTouch("t-1", Start, contact: default(Referrals.Privacy.ContactHash)), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await WriteAsync(store, new UnitOfWork(orders: [new OrderRow(NewOrder("o-1", "jane", Start) with { Amount = default }, 1, "{}", null, null, null)])));
        await Assert.ThrowsAsync<ArgumentException>(async () => await WriteAsync(store, new UnitOfWork(orders: [new OrderRow(NewOrder("o-1", "jane", Start) with { Fingerprints = [Device(1), default] }, 1, "{}", null, null, null)])));
        // Nothing of the refused writes was stored.
        Assert.Null(await store.FindAsync(Code("OK1"), Ct));
        Assert.Null(await contract.FindParticipantAsync(new ParticipantId("jane"), Ct));
        Assert.Empty(await contract.FindTouchesAsync(Program, new ParticipantId("jane"), [], [], Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct));
        Assert.Empty(await contract.ListProgramOrdersAsync(Program, null, 10, Ct));
    }

    private static ValueTask<WriteOutcome> WriteAsync(IReferralStore store, UnitOfWork unit) => store.WriteUnitAsync(unit, Ct);

    private static async Task WrittenAsync(IReferralStore store, UnitOfWork unit) =>
        Assert.Equal(WriteOutcome.Written, await store.WriteUnitAsync(unit, Ct));

    private static SqliteConnection OpenRaw(string path)
    {
        // No pooling: the test's own connection must not linger in a pool the store under test shares.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static List<long> AppliedVersions(string path)
    {
        using var connection = OpenRaw(path);
        return Column<long>(connection, "SELECT version FROM schema_migrations ORDER BY version;");
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<T> Column<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<T>();
        while (reader.Read())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }
        return values;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
