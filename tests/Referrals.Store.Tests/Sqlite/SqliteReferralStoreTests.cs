using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Sqlite;
using Referrals.Store.Tests.Contracts;
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
        var updated = Record(Code("KEEP1"), owner: "jane") with { ExpiresAt = Start + Duration.FromDays(3), MaxUses = 10 };
        var bulk = Enumerable.Range(0, 50).Select(n => Record(Code(n), owner: null) with { Kind = CodeKind.Bulk }).ToList();
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
            Assert.True(await store.TryUpdateAsync(updated with { Uses = 4, Version = 2 }, 1, Ct));
            Assert.Empty(await store.AddManyAsync(bulk, Ct));
            await store.UpsertParticipantAsync(jane, Ct);
            await store.LinkVisitorAsync("v-2", jane.Id, Ct);
            await store.LinkVisitorAsync("v-1", jane.Id, Ct);
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            Assert.Equal(updated with { Uses = 4, Version = 2 }, await reopened.FindAsync(updated.Code, Ct));
            Assert.False(await reopened.TryAddAsync(Record(Code("KEEP1"), owner: "john"), Ct));
            Assert.False(await reopened.TryUpdateAsync(updated with { Version = 2 }, 1, Ct));
            var all = new List<ReferralCodeRecord>();
            await foreach (var r in reopened.ListAllAsync(Ct))
            {
                all.Add(r);
            }
            Assert.Equal(51, all.Count);
            Assert.All(bulk, b => Assert.Contains(b, all));

            var read = await reopened.FindParticipantAsync(jane.Id, Ct);
            Assert.NotNull(read);
            Assert.Equal(jane.Kind, read.Kind);
            Assert.Equal(jane.Contacts, read.Contacts);
            Assert.Equal(jane.Fingerprints, read.Fingerprints);
            Assert.Equal(jane.MaskedEmail, read.MaskedEmail);
            Assert.Null(read.MaskedPhone);
            Assert.Equal(["jane"], (await reopened.FindParticipantsByContactAsync(Phone(1), Ct)).Select(p => p.Id.Value));
            Assert.Equal(["v-1", "v-2"], await reopened.FindVisitorsAsync(jane.Id, Ct));
        }

        // Reopening applied nothing again.
        Assert.Equal(SqliteSchema.Migrations.Select(m => (long)m.Version), AppliedVersions(path));
    }

    [Fact]
    public async Task Touches_conversions_and_attributions_are_read_back_after_the_store_is_reopened()
    {
        string path = _directory.NewDatabasePath();
        var jane = new ParticipantId("jane");
        var x = Code("XCODE1");
        var full = ConversionStoreContract.FullOrder("o-full");
        var fullDecision = ConversionStoreContract.FullDecision(full);
        var bare = NewOrder("o-bare", "jane", Start + Duration.FromHours(1));
        var bareDecision = Decision(bare, x, "bob");
        var touches = new[]
        {
            NewTouch("t-customer", Start) with { Customer = jane, Code = x, Medium = ShareMedium.Sms, OrderId = "o-bare" },
            NewTouch("t-visitor", Start - Duration.FromDays(1)) with { Kind = TouchKind.PosContactLookup, VisitorId = "v-1", Contact = Phone(1), StoreId = "s-1", RegisterId = "r-1" },
        };

        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            foreach (var t in touches)
            {
                Assert.True(await store.TryAddTouchAsync(t, Ct));
            }
            Assert.True(await store.TryAddConversionAsync(full, Ct));
            Assert.True(await store.TryAddConversionAsync(bare, Ct));
            await store.SaveAttributionAsync(fullDecision with { Reason = NotAttributedReason.OutsideWindow }, Ct);
            await store.SaveAttributionAsync(fullDecision, Ct);
            await store.SaveAttributionAsync(bareDecision, Ct);
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            Assert.Equal([touches[1], touches[0]], await reopened.FindTouchesAsync(Program, jane, ["v-1"], [], Ct));
            Assert.False(await reopened.TryAddTouchAsync(touches[0] with { Referrer = new ParticipantId("other") }, Ct));
            Assert.False(await reopened.TryAddConversionAsync(bare with { Customer = new ParticipantId("other") }, Ct));

            ConversionStoreContract.AssertSame(full, await reopened.FindConversionAsync(Program, "o-full", Ct));
            ConversionStoreContract.AssertSame(bare, await reopened.FindConversionAsync(Program, "o-bare", Ct));
            Assert.Equal(["o-full", "o-bare"], (await reopened.ListConversionsAsync(Program, jane, Ct)).Select(c => c.OrderId));
            Assert.Equal(["o-full", "o-bare"], (await reopened.ListAllConversionsAsync(Program, Ct)).Select(c => c.OrderId));

            ConversionStoreContract.AssertSame(fullDecision, await reopened.FindAttributionAsync(Program, "o-full", Ct));
            ConversionStoreContract.AssertSame(bareDecision, await reopened.FindAttributionAsync(Program, "o-bare", Ct));
            ConversionStoreContract.AssertSame(fullDecision, await reopened.FindFirstAttributionAsync(Program, jane, Ct));
            Assert.Equal(1, await reopened.CountCodeUsesBeforeAsync(x, Start + Duration.FromDays(1), "", Ct));
            Assert.Equal(1, await reopened.CountCodeUsesBeforeAsync(fullDecision.Code!.Value, Start + Duration.FromDays(1), "", Ct));
        }
    }

    [Fact]
    public async Task An_attribution_is_the_rest_of_its_conversions_row_with_its_nested_parts_as_JSON_in_the_detail_column()
    {
        string path = _directory.NewDatabasePath();
        var order = ConversionStoreContract.FullOrder();
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            Assert.True(await store.TryAddConversionAsync(order, Ct));
            await store.SaveAttributionAsync(ConversionStoreContract.FullDecision(order), Ct);
        }

        using var connection = OpenRaw(path);
        Assert.Equal(1L, Scalar(connection, "SELECT count(*) FROM conversions WHERE reason IS NOT NULL;"));
        Assert.Equal("ANA2026", Scalar(connection, "SELECT code FROM conversions;"));
        // The stored names: renaming one would orphan the rows written before.
        Assert.Equal("12.50", Scalar(connection, "SELECT json_extract(attribution_detail, '$.amount') FROM conversions;"));
        Assert.Equal("EUR", Scalar(connection, "SELECT json_extract(attribution_detail, '$.currency') FROM conversions;"));
        Assert.Equal("zoe", Scalar(connection, "SELECT json_extract(attribution_detail, '$.chain[1]') FROM conversions;"));
        Assert.Equal("order:o-1", Scalar(connection, "SELECT json_extract(attribution_detail, '$.touches[1].id') FROM conversions;"));
        Assert.Equal(60L, Scalar(connection, "SELECT json_extract(attribution_detail, '$.fraud.signals[0].score') FROM conversions;"));
        Assert.Equal(2L, Scalar(connection, "SELECT json_extract(attribution_detail, '$.fraud.verdict') FROM conversions;"));
        Assert.Equal(3L, Scalar(connection, "SELECT count(*) FROM conversion_contacts;"));
        Assert.Equal(2L, Scalar(connection, "SELECT count(*) FROM conversion_fingerprints WHERE customer = 'jane';"));
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
        // Version 7 adds the narrow store contract's tables beside the old interfaces' (code_versions, erasures, ledger,
        // program_touches, rewards, summaries); the switch-over drops the old ones.
        string[] tables =
        [
            "code_versions", "codes", "conversion_contacts", "conversion_fingerprints", "conversions", "erasures", "ledger", "open_rewards",
            "participant_contacts", "participant_fingerprints", "participants", "pending_notifications", "pending_rebuilds", "program_touches", "refunded_orders",
            "refunds", "reward_accounts", "reward_decisions", "reward_entries", "rewards", "schema_migrations", "summaries", "touches", "visitor_links",
        ];
        Assert.Equal(tables, Column<string>(connection, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;"));
    }

    [Fact]
    public async Task A_file_of_schema_version_3_keeps_its_attributions_referrer_counts_and_ledger_when_opened()
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
        var ana = new ParticipantId("ana");
        var first = await store.FindAttributionAsync(Program, "o-1", Ct);
        Assert.Equal((ana, "ANA2026", "c-1", 50m), (first!.Referrer, first.Code?.Value, first.Customer.Value, first.Amount.Amount));
        Assert.Equal((NotAttributedReason)1, (await store.FindAttributionAsync(Program, "o-3", Ct))!.Reason);
        Assert.Null(await store.FindAttributionAsync(Program, "o-4", Ct));
        Assert.NotNull(await store.FindConversionAsync(Program, "o-4", Ct));
        Assert.Equal(new ReferredOrderStats(2, 1), await store.GetReferredOrderStatsAsync(Program, ana, Ct));
        Assert.Equal(2, await store.CountReferredConversionsAsync(Program, ana, Start, Start + Duration.FromMinutes(1), Ct));
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(Code("ANA2026"), Start + Duration.FromTicks(10), "o-2", Ct));
        var account = await store.LoadAccountAsync(Program, ana, Ct);
        Assert.Equal(2, account.Version);
        Assert.Equal(["r-1:earned", "r-1:approved"], account.Entries.Select(e => e.EntryId));
        Assert.Equal(["r-1:earned", "r-1:approved"], (await store.ListRewardEntriesAsync(Program, "r-1", Ct)).Select(e => e.EntryId));
        Assert.Equal(["r-1:earned", "r-1:approved"], (await store.ListOrderEntriesAsync(Program, "o-1", Ct)).Select(e => e.EntryId));
        Assert.Equal(["r-1:earned", "r-1:approved"], (await store.ListOpenEntriesAsync(Program, Ct)).Select(e => e.EntryId));

        // The new triggers carry on from the copied counts: the refunded o-2 moves to bob; the ledger's ids stay unique
        // per reward, and its sequence goes on after the copied entries.
        await store.SaveAttributionAsync(Decision(NewOrder("o-2", "c-2", Start + Duration.FromTicks(10)), referrer: "bob"), Ct);
        Assert.Equal(new ReferredOrderStats(1, 0), await store.GetReferredOrderStatsAsync(Program, ana, Ct));
        Assert.Equal(new ReferredOrderStats(1, 1), await store.GetReferredOrderStatsAsync(Program, new ParticipantId("bob"), Ct));
        var again = RewardStoreContract.Entry("r-1:earned", "r-1", Start, ana);
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(RewardStoreContract.Commit([again], (ana, 2)), Ct));
        var paid = RewardStoreContract.Entry("r-1:fulfilled", "r-1", Start, ana, RewardEntryType.Fulfilled, amount: 0m);
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(RewardStoreContract.Commit([paid], (ana, 2)), Ct));
        Assert.Equal(["r-1:earned", "r-1:approved", "r-1:fulfilled"], (await store.LoadAccountAsync(Program, ana, Ct)).Entries.Select(e => e.EntryId));
        Assert.Empty(await store.ListOpenEntriesAsync(Program, Ct));
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
            Assert.True(await store.TryAddAsync(Record(Code("F0RM1")) with { CreatedAt = created, Medium = ShareMedium.Kiosk }, Ct));
            await store.UpsertParticipantAsync(new Participant { Id = new ParticipantId("jane"), Contacts = [Phone(5)], Fingerprints = [Device(5)] }, Ct);
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
        await store.UpsertParticipantAsync(Person("jane", Email(1)), Ct);
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
        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.FindParticipantAsync(new ParticipantId("jane"), Ct));
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
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.LinkVisitorAsync("v", new ParticipantId("p"), Ct));
    }

    [Fact]
    public async Task Default_values_no_parser_makes_are_refused_instead_of_stored()
    {
        await using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddAsync(Record(default), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AddManyAsync(new ReferralCodeRecord[] { Record(Code("OK1")), null! }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.UpsertParticipantAsync(Person("jane", new Referrals.Privacy.ContactHash[] { default }), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddTouchAsync(NewTouch(null!, Start), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddTouchAsync(NewTouch("t-1", Start) with { Contact = default(Referrals.Privacy.ContactHash) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddConversionAsync(NewOrder("o-1", "jane", Start) with { Amount = default }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryAddConversionAsync(NewOrder("o-1", "jane", Start) with { Fingerprints = [Device(1), default] }, Ct));
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-2", "jane", Start), Ct));
        var decision = Decision(NewOrder("o-2", "jane", Start));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.SaveAttributionAsync(decision with { Chain = null! }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.SaveAttributionAsync(decision with { Chain = [default] }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.SaveAttributionAsync(
            decision with { Fraud = new Referrals.Fraud.FraudAssessment { Verdict = Referrals.Fraud.FraudVerdict.Allow, Score = 0, ReviewAt = 40, BlockAt = 100, AssessedAt = Start, Signals = [new("x", 1, null!)] } },
            Ct));
        // Nothing of the refused writes was stored.
        Assert.Null(await store.FindAsync(Code("OK1"), Ct));
        Assert.Null(await store.FindParticipantAsync(new ParticipantId("jane"), Ct));
        Assert.Empty(await store.FindTouchesAsync(Program, new ParticipantId("jane"), [], [], Ct));
        Assert.Equal(["o-2"], (await store.ListAllConversionsAsync(Program, Ct)).Select(c => c.OrderId));
        Assert.Null(await store.FindAttributionAsync(Program, "o-2", Ct));
    }

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
