using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Rewards;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// The schema of the store contract: a file of version 4 migrates (through version 7, which carries its rows into the
/// contract's tables, and version 9, which drops the old interfaces' tables, columns, indexes and triggers) and serves the
/// contract; the contract's reads are ranges of their indexes; no trigger and no index spells a business rule.
/// </summary>
public sealed class SqliteSchemaTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_file_of_schema_version_4_migrates_serves_the_contract_and_keeps_nothing_of_the_old_interfaces()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        const string Detail = """{"amount":"50","currency":"EUR","channel":1,"medium":1,"chain":["ana"],"touches":[]}""";
        const string Decision = """{"chain":["ana"],"referral_number":1,"counted":true,"reward_ids":["r-1"]}""";
        using (var connection = OpenRaw(path))
        {
            // Version 4 as an earlier library wrote it: ana's code and registration, a touch, o-1 credited to ana with her
            // code and counted as her referral, o-2 a repeat of the same customer (not credited), o-3 written but not
            // decided; a reward of two entries; a refund; a pending notification.
            Execute(connection, $"""
                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
                {SqliteSchema.Migrations[0].Sql}
                {SqliteSchema.Migrations[1].Sql}
                {SqliteSchema.Migrations[2].Sql}
                {SqliteSchema.Migrations[3].Sql}
                INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z'), (2, 'v2', '2026-11-01T00:00:00Z'), (3, 'v3', '2026-11-01T00:00:00Z'), (4, 'v4', '2026-11-01T00:00:00Z');
                INSERT INTO codes (code, display, program, owner, medium, kind, status, created_at, uses, version, change_seq)
                VALUES ('ANA2026', 'ANA2026', 'customers', 'ana', 1, 2, 1, {t}, 0, 3, 1);
                INSERT INTO participants (id, kind, masked_email) VALUES ('ana', 0, 'a***@example.com');
                INSERT INTO participant_contacts (participant, ordinal, contact) VALUES ('ana', 0, '{Email(1)}');
                INSERT INTO touches (id, program, kind, referrer, code, medium, visitor, customer, event_time, recorded_at)
                VALUES ('t-1', 'customers', 1, 'ana', 'ANA2026', 1, 'v-1', 'c-1', {t - 10}, {t - 10});
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, visitor,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-1', 'c-1', '50', 'EUR', {t}, 1, 'v-1', 'c-1', {t}, 0, 0, 'ana', 'ANA2026', {t + 1}, '{Detail}'),
                       ('customers', 'o-2', 'c-1', '50', 'EUR', {t + 10}, 1, NULL, 'c-1', {t + 10}, 0, 1, 'ana', 'ANA2026', {t + 11}, '{Detail}');
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel)
                VALUES ('customers', 'o-3', 'c-3', '50', 'EUR', {t + 20}, 1);
                INSERT INTO conversion_fingerprints (program, order_id, ordinal, fingerprint, customer, event_time)
                VALUES ('customers', 'o-1', 0, '{Device(1)}', 'c-1', {t});
                INSERT INTO reward_decisions (program, order_id, revision, referrer, referral_seq, decided_at, detail)
                VALUES ('customers', 'o-1', 1, 'ana', 1, {t + 1}, '{Decision}');
                INSERT INTO reward_accounts (program, beneficiary, version, orders, refunded) VALUES ('customers', 'ana', 2, 1, 0);
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at)
                VALUES (1, 'customers', 'r-1:earned', 'r-1', 'ana', 'o-1', {(int)RewardEntryType.Earned}, '10', 'EUR', {t + 1}),
                       (2, 'customers', 'r-1:approved', 'r-1', 'ana', 'o-1', {(int)RewardEntryType.Approved}, '0', 'EUR', {t + 2});
                INSERT INTO refunds (program, refund_id, order_id, amount, currency, event_time, is_chargeback)
                VALUES ('customers', 'f-1', 'o-1', '5', 'EUR', {t + 5}, 0);
                INSERT INTO pending_notifications (id, kind, program, order_id, recorded_at) VALUES ('n-1', 1, 'customers', 'o-1', {t + 1});
                """);
        }

        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;
        var ana = new ParticipantId("ana");

        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], Column<long>(path, "SELECT version FROM schema_migrations ORDER BY version;"));

        // What only the old interfaces used is gone: their tables, the trigger-kept counters, the triggers, the partial
        // indexes whose WHERE said what "credited" means, and the v4 attribution columns of conversions.
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('touches', 'reward_entries', 'reward_decisions', 'reward_accounts', 'open_rewards', 'refunded_orders', 'attributions', 'referrer_order_stats');"));
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'trigger';"));
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND (sql LIKE '%reason =%' OR sql LIKE '%is_repeat%');"));
        Assert.Empty(Column<string>(path, "SELECT name FROM pragma_table_info('conversions') WHERE name IN ('attribution_customer', 'conversion_time', 'reason', 'is_repeat', 'referrer', 'code', 'decided_at', 'attribution_detail');"));

        // The contract serves the same data: codes with their current version as history, participants, touches, orders
        // with the index values copied once from the v6 columns, the ledger by sequence, refunds, the outbox.
        Assert.Equal(3, (await contract.FindCodeAsync(Code("ANA2026"), Ct))!.Version);
        Assert.Equal([(3L, Start)], (await contract.ListCodeHistoryAsync(Code("ANA2026"), Ct)).Select(h => (h.Record.Version, h.ChangedAt)));
        Assert.Equal(["ANA2026"], (await contract.ListCodeChangesAsync(0, 10, Ct)).Select(c => c.Record.Code.Value));
        Assert.Equal(["ana"], (await contract.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        Assert.Equal("v-1", (await contract.FindTouchAsync(Program, "t-1", Ct))!.VisitorId);
        Assert.Equal(["t-1"], (await contract.FindTouchesAsync(Program, new ParticipantId("c-1"), [], [], Start - Duration.FromHours(1), Start, 10, Ct)).Select(x => x.Id));
        Assert.Equal(["t-1"], (await contract.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(x => x.Id));
        var o1 = await contract.FindOrderAsync(Program, "o-1", Ct);
        Assert.Equal((1L, ana, "ANA2026", ana), (o1!.Version, o1.CreditedReferrer, o1.CreditedCode?.Value, o1.CountedReferrer));
        Assert.Equal([Device(1)], o1.Conversion.Fingerprints);
        Assert.Contains("\"legacy\":\"sqlite-v6\"", o1.Document, StringComparison.Ordinal);
        Assert.Contains("\"counted\":true", o1.Document, StringComparison.Ordinal);
        var o2 = await contract.FindOrderAsync(Program, "o-2", Ct);
        Assert.Equal((1L, (ParticipantId?)null, (string?)null, (ParticipantId?)null), (o2!.Version, o2.CreditedReferrer, o2.CreditedCode?.Value, o2.CountedReferrer));
        Assert.Contains("\"v\":0", (await contract.FindOrderAsync(Program, "o-3", Ct))!.Document, StringComparison.Ordinal);
        Assert.Equal(["o-1"], (await contract.ListReferralsAsync(Program, ana, null, 10, Ct)).Select(o => o.Conversion.OrderId));
        Assert.Equal(["o-1", "o-2", "o-3"], (await contract.ListProgramOrdersAsync(Program, null, 10, Ct)).Select(o => o.Conversion.OrderId));
        Assert.Equal(1, await contract.CountCreditedOrdersAsync(Program, ana, Start, Start + Duration.FromMinutes(1), 10, Ct));
        Assert.Equal(1, await contract.CountCodeUsesAsync(Code("ANA2026"), new ListPosition(Start + Duration.FromMinutes(1), ""), 10, Ct));
        var ledger = await contract.ListLedgerAsync(Program, 0, 10, Ct);
        Assert.Equal([(1L, "r-1:earned"), (2L, "r-1:approved")], ledger.Select(e => (e.Sequence, e.EntryId)));
        Assert.Contains("\"beneficiary\":\"ana\"", ledger[0].Document, StringComparison.Ordinal);
        Assert.Equal(["f-1"], (await contract.ListRefundsAsync(Program, "o-1", Ct)).Select(r => r.RefundId));
        Assert.Equal(["n-1"], (await contract.ListDueNotificationsAsync(Start + Duration.FromHours(1), 10, Ct)).Select(n => n.Id));

        // Core writes on: a legacy order replaced at version 2 moves its index values as written — nothing counts it — and
        // new rows go on after the old.
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(
                orders: [new OrderRow(o1.Conversion, 2, """{"v":1}""", null, null, null)],
                entries: [new EntryRow(Program, "r-1", "r-1:fulfilled", Start, """{"v":1}""")],
                summaries: [new SummaryRow(Program, ana, "", 1, """{"v":1}""")],
                codes: [new CodeRow(Changed((await session.FindCodeAsync(Code("ANA2026"), Ct))!, version: 4, status: CodeStatus.Paused), Start + Duration.FromDays(1))]), Ct));
            await session.CommitAsync(Ct);
        }
        Assert.Empty(await contract.ListReferralsAsync(Program, ana, null, 10, Ct));
        Assert.Equal(0, await contract.CountCreditedOrdersAsync(Program, ana, Start, Start + Duration.FromMinutes(1), 10, Ct));
        Assert.Equal(3L, (await contract.ListLedgerAsync(Program, 2, 10, Ct)).Single().Sequence);
        Assert.Equal([3L, 4L], (await contract.ListCodeHistoryAsync(Code("ANA2026"), Ct)).Select(h => h.Record.Version));
        Assert.Equal(CodeStatus.Paused, (await contract.FindCodeAsync(Code("ANA2026"), Ct))!.Status);
    }

    /// <summary>
    /// Version 10 keeps a code's current version once, in <c>codes</c> with the instant it took effect, and the versions
    /// before it in <c>code_versions</c>: a file of version 9 (every version, the current one too, in code_versions) keeps
    /// each code's history as it was read before; a new code then takes no code_versions row, and a change moves the
    /// current version there.
    /// </summary>
    [Fact]
    public async Task A_file_of_schema_version_9_keeps_every_version_of_its_codes_and_a_new_code_is_one_row()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        using (var connection = OpenRaw(path))
        {
            var migrations = string.Join("\n", SqliteSchema.Migrations.Where(m => m.Version <= 9).Select(m => m.Sql));
            var applied = string.Join(", ", SqliteSchema.Migrations.Where(m => m.Version <= 9).Select(m => $"({m.Version}, 'v{m.Version}', '2026-11-01T00:00:00Z')"));
            // As version 9 wrote them: ANA2026 issued at t and paused at t + 10 (its versions 1 and 2 in code_versions, 2 in
            // codes); BEN2026 issued at t + 5, never changed.
            Execute(connection, $"""
                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
                {migrations}
                INSERT INTO schema_migrations VALUES {applied};
                INSERT INTO codes (code, display, program, owner, medium, kind, status, created_at, uses, version, change_seq)
                VALUES ('ANA2026', 'Ana2026', 'customers', 'ana', 1, 2, 2, {t}, 0, 2, 2),
                       ('BEN2026', 'BEN2026', 'customers', NULL, 3, 3, 1, {t + 5}, 0, 1, 1);
                INSERT INTO code_versions (code, version, changed_at, display, program, owner, medium, kind, status, created_at, uses)
                VALUES ('ANA2026', 1, {t}, 'Ana2026', 'customers', 'ana', 1, 2, 1, {t}, 0),
                       ('ANA2026', 2, {t + 10}, 'Ana2026', 'customers', 'ana', 1, 2, 2, {t}, 0),
                       ('BEN2026', 1, {t + 5}, 'BEN2026', 'customers', NULL, 3, 3, 1, {t + 5}, 0);
                """);
        }

        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;
        async Task<List<(long, Instant, CodeStatus)>> History(string code) =>
            (await contract.ListCodeHistoryAsync(Code(code), Ct)).Select(h => (h.Record.Version, h.ChangedAt, h.Record.Status)).ToList();
        var at = Instant.FromUnixTimeTicks;

        Assert.Equal((long)SqliteSchema.LatestVersion, Column<long>(path, "SELECT max(version) FROM schema_migrations;").Single());
        Assert.Equal([(1L, at(t), CodeStatus.Active), (2L, at(t + 10), CodeStatus.Paused)], await History("ANA2026"));
        Assert.Equal([(1L, at(t + 5), CodeStatus.Active)], await History("BEN2026"));
        Assert.Equal(["ANA2026:1"], Column<string>(path, "SELECT code || ':' || version FROM code_versions ORDER BY code, version;"));
        Assert.Equal([t + 10, t + 5], Column<long>(path, "SELECT changed_at FROM codes ORDER BY code;"));
        Assert.Equal(["BEN2026", "ANA2026"], (await contract.ListCodeChangesAsync(0, 10, Ct)).Select(c => c.Record.Code.Value));

        // A new code is one row of codes; a change moves the current version into code_versions; a stale change moves
        // nothing and changes nothing.
        var ben = (await contract.FindCodeAsync(Code("BEN2026"), Ct))!;
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(
                codes: [
                    new CodeRow(Record(Code("CAT2026"), owner: null), Start + Duration.FromMinutes(1)),
                    new CodeRow(Changed(ben, version: 2, owner: new ParticipantId("ben")), Start + Duration.FromMinutes(2)),
                ]), Ct));
            await session.CommitAsync(Ct);
        }
        await using (var session = await contract.BeginAsync(Ct))
        {
            var stale = await session.WriteAsync(new UnitOfWork(codes: [new CodeRow(Changed(ben, version: 2, status: CodeStatus.Revoked), Start + Duration.FromMinutes(3))]), Ct);
            Assert.Equal((WriteStatus.Conflict, RowKind.Code, "BEN2026"), (stale.Status, stale.Kind, stale.Key));
        }
        Assert.Equal([(1L, Start + Duration.FromMinutes(1), CodeStatus.Active)], await History("CAT2026"));
        Assert.Equal([(1L, at(t + 5), CodeStatus.Active), (2L, Start + Duration.FromMinutes(2), CodeStatus.Active)], await History("BEN2026"));
        Assert.Equal(new ParticipantId("ben"), (await contract.FindCodeAsync(Code("BEN2026"), Ct))!.Owner);
        Assert.Equal(["ANA2026:1", "BEN2026:1"], Column<string>(path, "SELECT code || ':' || version FROM code_versions ORDER BY code, version;"));
    }

    /// <summary>
    /// Version 11 indexes a program's touches by event time and its reward rows by conversion time: a file of version 10
    /// gets both indexes over the rows it holds, and the program's reads list those rows in (instant, id) order.
    /// </summary>
    [Fact]
    public async Task A_file_of_schema_version_10_lists_the_touches_and_rewards_it_holds_by_time()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        // As version 10 wrote them: two programs' touches and reward rows, written in no particular order.
        SqliteFiles.Write(path, 10, $"""
            INSERT INTO program_touches (program, id, kind, referrer, medium, event_time, recorded_at)
            VALUES ('customers', 't-b', 1, 'ana', 1, {t}, {t}), ('customers', 't-c', 1, 'ana', 1, {t - 10}, {t}),
                   ('customers', 't-a', 1, 'bob', 1, {t}, {t}), ('employees', 't-x', 1, 'ana', 1, {t - 20}, {t});
            INSERT INTO rewards (program, reward_id, beneficiary, order_id, conversion_time, version, document)
            VALUES ('customers', 'w-b', 'ana', 'o-1', {t}, 1, '{"{}"}'), ('customers', 'w-c', 'bob', 'o-2', {t - 10}, 1, '{"{}"}'),
                   ('customers', 'w-a', 'bob', 'o-3', {t}, 1, '{"{}"}'), ('employees', 'w-x', 'ana', 'o-1', {t - 20}, 1, '{"{}"}');
            """);

        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;

        Assert.Equal((long)SqliteSchema.LatestVersion, Column<long>(path, "SELECT max(version) FROM schema_migrations;").Single());
        Assert.Equal(["program_touches_by_time", "rewards_by_time"], Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('program_touches_by_time', 'rewards_by_time') ORDER BY name;"));
        Assert.Equal(["t-c", "t-a", "t-b"], (await contract.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(x => x.Id));
        Assert.Equal(["t-b"], (await contract.ListProgramTouchesAsync(Program, new ListPosition(Start, "t-a"), 10, Ct)).Select(x => x.Id));
        Assert.Equal(["w-c", "w-a", "w-b"], (await contract.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-x"], (await contract.ListProgramRewardsAsync(OtherProgram, null, 10, Ct)).Select(r => r.RewardId));
    }

    /// <summary>
    /// Version 12 keeps each referrer's touches and credited orders per UTC hour (referrer_hours) for the velocity counts:
    /// a file of version 11 gets them from the rows it holds (before 1970 too), and a day's count adds them up. A credit
    /// moved by a re-decision afterwards moves the order's count.
    /// </summary>
    [Fact]
    public async Task A_file_of_schema_version_11_counts_the_touches_and_credited_orders_it_holds_by_the_hour()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        const long Hour = 36_000_000_000;
        long old = -Hour / 2; // 1969-12-31T23:30Z
        SqliteFiles.Write(path, 11, $"""
            INSERT INTO program_touches (program, id, kind, referrer, medium, event_time, recorded_at)
            VALUES ('customers', 't-1', 1, 'ana', 1, {t}, {t}), ('customers', 't-2', 1, 'ana', 1, {t + Hour}, {t}),
                   ('customers', 't-3', 1, 'ana', 1, {t + 2 * Hour + 5}, {t}), ('customers', 't-4', 1, 'ana', 1, {t + 3 * Hour}, {t}),
                   ('customers', 't-5', 1, 'bob', 1, {t + Hour}, {t}), ('customers', 't-6', 1, 'ana', 1, {old}, {t});
            INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, version, document, credited_referrer)
            VALUES ('customers', 'o-1', 'c-1', '50', 'EUR', {t + Hour + 1}, 1, 1, '{"{}"}', 'ana'),
                   ('customers', 'o-2', 'c-2', '50', 'EUR', {t + 2 * Hour}, 1, 1, '{"{}"}', 'ana'),
                   ('customers', 'o-3', 'c-3', '50', 'EUR', {t + 2 * Hour}, 1, 1, '{"{}"}', NULL);
            """);

        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;
        var ana = new ParticipantId("ana");
        var at = Instant.FromUnixTimeTicks;

        Assert.Equal(
            ["ana/0/-1/1", $"ana/0/{t / Hour}/1", $"ana/0/{t / Hour + 1}/1", $"ana/0/{t / Hour + 2}/1", $"ana/0/{t / Hour + 3}/1",
             $"ana/1/{t / Hour + 1}/1", $"ana/1/{t / Hour + 2}/1", $"bob/0/{t / Hour + 1}/1"],
            Column<string>(path, "SELECT referrer || '/' || kind || '/' || hour || '/' || count FROM referrer_hours ORDER BY referrer, kind, hour;"));
        Assert.Equal(4, await contract.CountTouchesAsync(Program, ana, at(t), at(t + 3 * Hour + 1), 100, Ct));
        Assert.Equal(2, await contract.CountTouchesAsync(Program, ana, at(t + 1), at(t + 3 * Hour), 100, Ct));
        Assert.Equal(1, await contract.CountTouchesAsync(Program, ana, at(old - Hour), at(Hour), 100, Ct));
        Assert.Equal(2, await contract.CountCreditedOrdersAsync(Program, ana, at(t), at(t + 24 * Hour), 100, Ct));

        // o-2 moves from ana to bob: its hour's count moves with it.
        var o2 = (await contract.FindOrderAsync(Program, "o-2", Ct))!;
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders: [new OrderRow(o2.Conversion, 2, o2.Document, new ParticipantId("bob"), null, null)]), Ct));
            await session.CommitAsync(Ct);
        }
        Assert.Equal(1, await contract.CountCreditedOrdersAsync(Program, ana, at(t), at(t + 24 * Hour), 100, Ct));
        Assert.Equal(1, await contract.CountCreditedOrdersAsync(Program, new ParticipantId("bob"), at(t - 24 * Hour), at(t + 24 * Hour), 100, Ct));
        Assert.Equal(
            [$"ana/1/{t / Hour + 1}/1", $"ana/1/{t / Hour + 2}/0", $"bob/1/{t / Hour + 2}/1"],
            Column<string>(path, "SELECT referrer || '/' || kind || '/' || hour || '/' || count FROM referrer_hours WHERE kind = 1 ORDER BY referrer, kind, hour;"));
    }

    [Fact]
    public void A_new_file_has_no_trigger_and_no_index_that_spells_a_business_rule()
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'trigger';"));
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND (sql LIKE '%reason =%' OR sql LIKE '%is_repeat%');"));
        Assert.Empty(Column<string>(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('touches', 'reward_entries', 'reward_decisions', 'reward_accounts', 'open_rewards', 'refunded_orders');"));
    }

    public static TheoryData<string, string, string> Reads => new()
    {
        { "due index", SqliteReferralStore.DueRewardsSql, "rewards_due" },
        { "rewards after a time", SqliteReferralStore.BeneficiaryRewardsSql, "rewards_by_beneficiary" },
        { "ranked referrals", SqliteReferralStore.ReferralsSql, "orders_by_counted_referrer" },
        { "program orders", SqliteReferralStore.OrdersByTimeSql, "orders_by_time" },
        { "program touches (reports)", SqliteReferralStore.ProgramTouchesSql, "program_touches_by_time" },
        { "program rewards (reports)", SqliteReferralStore.ProgramRewardsSql, "rewards_by_time" },
        { "customer orders", SqliteReferralStore.OrdersByCustomerSql, "conversions_by_customer" },
        { "ledger", SqliteReferralStore.LedgerSql, "ledger_by_program" },
        { "touches by referrer (velocity)", SqliteReferralStore.CountTouchesSql, "program_touches_by_referrer" },
        { "credited orders (velocity)", SqliteReferralStore.CountCreditedOrdersSql, "orders_by_credited_referrer" },
        { "uses of a code", SqliteReferralStore.CodeUsesBeforeSql, "orders_by_credited_code" },
        { "touches by customer", SqliteReferralStore.LatestTouchesSql("customer"), "program_touches_by_customer" },
        { "touches by visitor", SqliteReferralStore.LatestTouchesSql("visitor"), "program_touches_by_visitor" },
        { "touches by contact", SqliteReferralStore.LatestTouchesSql("contact"), "program_touches_by_contact" },
    };

    /// <summary>Each keyset read is a range of its index in the order asked for: no table scan, no sort.</summary>
    [Theory]
    [MemberData(nameof(Reads))]
    public void Keyset_reads_are_ranges_of_their_index(string read, string sql, string index)
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        using var connection = OpenRaw(path);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var name in new[] { "$program", "$key", "$code", "$from", "$until", "$due", "$after", "$limit" })
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                command.Parameters.AddWithValue(name, name is "$key" or "$program" or "$code" ? "x" : 1L);
            }
        }
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }
        string text = string.Join(" | ", plan);
        // One search of the index (a count reads it from a subquery), no scan of a table or index, no sort.
        Assert.True(plan.Count(l => l.StartsWith("SEARCH ", StringComparison.Ordinal)) == 1 && plan.Any(l => l.StartsWith("SEARCH ", StringComparison.Ordinal) && l.Contains($"INDEX {index} (", StringComparison.Ordinal)), $"{read}: {text}");
        Assert.False(plan.Any(l => l.StartsWith("SCAN ", StringComparison.Ordinal) && !l.StartsWith("SCAN (subquery", StringComparison.Ordinal)), $"{read}: {text}");
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// A velocity count over two hours or more: its two partial hours are ranges of the referrer's index, its whole hours a
    /// range of referrer_hours' primary key — three searches, no scan, no sort.
    /// </summary>
    [Theory]
    [InlineData("touches", "program_touches_by_referrer")]
    [InlineData("credited orders", "orders_by_credited_referrer")]
    public void A_count_by_the_hour_searches_the_referrers_index_twice_and_the_hours_once(string rows, string index)
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        using var connection = OpenRaw(path);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + (rows == "touches" ? SqliteReferralStore.CountTouchesByHoursSql : SqliteReferralStore.CountCreditedOrdersByHoursSql);
        foreach (var name in new[] { "$program", "$key" })
        {
            command.Parameters.AddWithValue(name, "x");
        }
        foreach (var name in new[] { "$from", "$until", "$limit", "$first_hour", "$end_hour", "$from2", "$until2" })
        {
            command.Parameters.AddWithValue(name, 1L);
        }
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }
        string text = string.Join(" | ", plan);
        Assert.True(plan.Count(l => l.StartsWith("SEARCH ", StringComparison.Ordinal) && l.Contains($"INDEX {index} (", StringComparison.Ordinal)) == 2, text);
        Assert.True(plan.Count(l => l.StartsWith("SEARCH referrer_hours USING PRIMARY KEY (", StringComparison.Ordinal)) == 1, text);
        Assert.False(plan.Any(l => l.StartsWith("SCAN ", StringComparison.Ordinal) && !l.StartsWith("SCAN (subquery", StringComparison.Ordinal) && l != "SCAN CONSTANT ROW"), text);
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> KeyReads => new()
    {
        { "an order's rewards", SqliteReferralStore.OrderRewardsSql, "rewards_by_order (program=? AND order_id=?)" },
        { "a reward's entries", SqliteReferralStore.RewardEntriesSql, "ledger_by_reward (program=? AND reward_id=?)" },
    };

    /// <summary>
    /// Look-ups of one order's rewards and one reward's entries search their own index by the whole key, on a file with
    /// more than one order: without it SQLite reads every reward or entry of the program (it did, before they named it).
    /// </summary>
    [Theory]
    [MemberData(nameof(KeyReads))]
    public void Key_lookups_search_their_index_by_the_whole_key(string read, string sql, string search)
    {
        var plan = PlanOnNewFile(sql, ("$program", "x"), ("$key", "y"));
        string text = string.Join(" | ", plan);
        Assert.True(plan.Any(l => l.StartsWith("SEARCH ", StringComparison.Ordinal) && l.Contains("INDEX " + search, StringComparison.Ordinal)), $"{read}: {text}");
        Assert.DoesNotContain(plan, l => l.StartsWith("SCAN ", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> PageReads => new()
    {
        { "a page of orders", SqliteReferralStore.PageOrdersSql },
        { "their contacts", SqliteReferralStore.PageContactsSql },
        { "their fingerprints", SqliteReferralStore.PageFingerprintsSql },
    };

    /// <summary>
    /// A page of orders (reports, replay, rebuilds) is read by its ids in three queries, each one search of the primary
    /// key per id — no scan of the table, whatever the program's size.
    /// </summary>
    [Theory]
    [MemberData(nameof(PageReads))]
    public void A_page_of_orders_is_read_by_primary_key(string read, string sql)
    {
        var plan = PlanOnNewFile(sql, ("$program", "x"), ("$ids", "[\"a\",\"b\"]"));
        string text = string.Join(" | ", plan);
        Assert.True(plan.Any(l => l.StartsWith("SEARCH ", StringComparison.Ordinal) && l.Contains("(program=? AND order_id=?", StringComparison.Ordinal)), $"{read}: {text}");
        Assert.DoesNotContain(plan, l => l.StartsWith("SCAN ", StringComparison.Ordinal) && !l.Contains("json_each", StringComparison.Ordinal));
    }

    /// <summary>SQLite's plan of <paramref name="sql"/> on a new store file, a line per step.</summary>
    private List<string> PlanOnNewFile(string sql, params (string Name, object Value)[] parameters)
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        using var connection = OpenRaw(path);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var plan = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
        }
        return plan;
    }

    private static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<T> Column<T>(string path, string sql)
    {
        using var connection = OpenRaw(path);
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
}
