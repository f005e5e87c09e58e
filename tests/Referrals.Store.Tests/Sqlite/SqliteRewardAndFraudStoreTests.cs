using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Rewards;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Contracts;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Contracts.RewardStoreContract;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>What only the database file has for rewards and the fraud history: durability, query plans, stored forms, trigger-kept counts.</summary>
public sealed class SqliteRewardAndFraudStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Rewards_refunds_and_the_fraud_history_are_read_back_after_the_store_is_reopened()
    {
        string path = _directory.NewDatabasePath();
        var ana = new ParticipantId("ana");
        var t1 = Start + Duration.FromMinutes(5);
        var earned = Entry("r-1:earned", "r-1", t1) with { Terms = FullTerms() };
        var approved = Entry("r-1:approved", "r-1", t1 + Duration.FromDays(14), type: RewardEntryType.Approved, amount: 0m) with { Reason = "hold ended" };
        var friend = Entry("r-2:earned", "r-2", t1, Bea);
        var decision = RewardStoreContract.Decision("o-1", ana) with { RewardIds = ["r-1", "r-2"], ReferralNumber = 1 };
        var refund = NewRefund("o-1", "rf-1", 50m, t1 + Duration.FromDays(1));

        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            await store.UpsertParticipantAsync(new Participant { Id = ana, Fingerprints = [Device(1)] }, Ct);
            Assert.True(await store.TryAddTouchAsync(NewTouch("t-1", Start, referrer: "ana") with { Customer = new ParticipantId("bob") }, Ct));
            var order = NewOrder("o-1", "bob", t1) with { Fingerprints = [Device(1)] };
            Assert.True(await store.TryAddConversionAsync(order, Ct));
            await store.SaveAttributionAsync(Decision(order, referrer: "ana"), Ct);
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
                new RewardCommit { Program = Program, Accounts = [new AccountVersion(ana, 0), new AccountVersion(Bea, 0)], Entries = [earned, friend], Decision = decision },
                Ct));
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([approved], (ana, 1)) with { Refund = refund }, Ct));
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            var account = await reopened.LoadAccountAsync(Program, ana, Ct);
            Assert.Equal(2, account.Version);
            AssertSame([earned, approved], account.Entries);
            AssertSame(decision, Assert.Single(account.Referrals));
            AssertSame(decision, await reopened.FindDecisionAsync(Program, "o-1", Ct));
            AssertSame([earned, friend, approved], await reopened.ListOrderEntriesAsync(Program, "o-1", Ct));
            Assert.Equal([refund], await reopened.ListRefundsAsync(Program, "o-1", Ct));
            AssertSame([earned, friend, approved], await reopened.ListOpenEntriesAsync(Program, Ct));

            Assert.Equal(1, await reopened.CountReferralsAsync(Program, ana, Start, t1, Ct));
            Assert.Equal(1, await reopened.CountReferredConversionsAsync(Program, ana, Start, t1 + Duration.FromTicks(1), Ct));
            Assert.Equal(new ReferredOrderStats(1, 1), await reopened.GetReferredOrderStatsAsync(Program, ana, Ct));
            Assert.Equal(
                [new FingerprintSighting(ana, null, null), new FingerprintSighting(new ParticipantId("bob"), t1, "o-1")],
                await reopened.FindSightingsAsync(Program, Device(1), t1 + Duration.FromTicks(1), 10, Ct));

            // Versions, revisions and ids carry on from the file.
            Assert.Equal(RewardCommitOutcome.Conflict, await reopened.TryCommitAsync(Commit([], (ana, 1)), Ct));
            Assert.Equal(RewardCommitOutcome.Duplicate, await reopened.TryCommitAsync(Commit([approved], (ana, 2)), Ct));
            Assert.Equal(RewardCommitOutcome.Duplicate, await reopened.TryCommitAsync(Commit([], (ana, 2)) with { Refund = refund }, Ct));
            Assert.Equal(RewardCommitOutcome.Conflict, await reopened.TryCommitAsync(Commit([], (ana, 2)) with { Decision = decision with { Revision = 2 }, ExpectedDecisionRevision = 0 }, Ct));
            Assert.Equal(RewardCommitOutcome.Committed, await reopened.TryCommitAsync(
                Commit([Entry("r-1:fulfilled", "r-1", t1 + Duration.FromDays(15), type: RewardEntryType.Fulfilled, amount: 0m)], (ana, 2)), Ct));
            Assert.Equal(["r-2:earned"], (await reopened.ListOpenEntriesAsync(Program, Ct)).Select(e => e.EntryId));
        }
    }

    [Fact]
    public async Task The_fraud_and_reward_queries_read_index_ranges_not_tables()
    {
        string path = _directory.NewDatabasePath();
        using (SqliteReferralStore.OpenFile(path))
        {
        }
        using var connection = OpenRaw(path);

        Assert.Contains("USING COVERING INDEX touches_by_referrer (program=? AND referrer=? AND event_time>? AND event_time<?)", Plan(connection, SqliteReferralStore.CountReferralsSql));
        Assert.Contains("USING COVERING INDEX conversions_credited_by_referrer (program=? AND referrer=? AND conversion_time>? AND conversion_time<?)", Plan(connection, SqliteReferralStore.CountReferredConversionsSql));
        Assert.Contains("reward_accounts USING PRIMARY KEY (program=? AND beneficiary=?)", Plan(connection, SqliteReferralStore.ReferredOrderStatsSql));
        Assert.Contains("USING COVERING INDEX participant_fingerprints_by_fingerprint (fingerprint=?)", Plan(connection, SqliteReferralStore.RegisteredWithSql));
        string seen = Plan(connection, SqliteReferralStore.SeenWithSql);
        Assert.Contains("conversion_fingerprints_by_fingerprint (program=? AND fingerprint=? AND event_time>? AND event_time<?)", seen);
        Assert.Contains("conversion_fingerprints_by_fingerprint (program=? AND fingerprint=? AND event_time<?)", seen);
        Assert.Contains("USING INDEX reward_entries_by_beneficiary (program=? AND beneficiary=?)", Plan(connection, SqliteReferralStore.AccountEntriesSql));
        Assert.Contains("USING INDEX reward_decisions_by_referrer (program=? AND referrer=?)", Plan(connection, SqliteReferralStore.AccountReferralsSql));
        Assert.Contains("USING COVERING INDEX reward_decisions_by_referrer (program=? AND referrer=?)", Plan(connection, SqliteReferralStore.UpsertDecisionSql));
        // A reward commit's check (two accounts, a decision, two entries, a refund, two notifications): primary keys and
        // unique indexes only.
        string check = Plan(connection, SqliteReferralStore.CheckSql(new SqliteReferralStore.CommitShape(2, true, 2, true, 2)));
        Assert.Contains("reward_accounts USING PRIMARY KEY (program=? AND beneficiary=?)", check);
        Assert.Contains("reward_decisions USING PRIMARY KEY (program=? AND order_id=?)", check);
        Assert.Contains("x USING COVERING INDEX reward_entries_by_reward (program=? AND reward_id=? AND entry_id=?)", check);
        Assert.Contains("refunds USING COVERING INDEX sqlite_autoindex_refunds_1 (program=? AND refund_id=?)", check);
        Assert.Contains("pending_notifications USING PRIMARY KEY (id=?)", check);
        // The one-row SELECT itself and the VALUES list of the entries' (reward, entry id) pairs are the only scans.
        Assert.DoesNotContain("SCAN ", check.Replace("SCAN CONSTANT ROW", "", StringComparison.Ordinal).Replace("SCAN 2-ROW VALUES CLAUSE", "", StringComparison.Ordinal));
        string open = Plan(connection, SqliteReferralStore.OpenEntriesSql);
        Assert.Contains("SEARCH o USING PRIMARY KEY (program=?)", open);
        Assert.Contains("SEARCH e USING INDEX reward_entries_by_reward (program=? AND reward_id=?)", open);
        foreach (var sql in new[]
        {
            SqliteReferralStore.CountReferralsSql, SqliteReferralStore.CountReferredConversionsSql, SqliteReferralStore.ReferredOrderStatsSql,
            SqliteReferralStore.RegisteredWithSql, SqliteReferralStore.SeenWithSql, SqliteReferralStore.AccountEntriesSql,
            SqliteReferralStore.AccountReferralsSql, SqliteReferralStore.UpsertDecisionSql, SqliteReferralStore.OpenEntriesSql,
        })
        {
            Assert.DoesNotContain("SCAN ", Plan(connection, sql));
        }
    }

    [Fact]
    public async Task The_trigger_kept_referrer_counts_equal_a_recount_and_the_in_memory_stores_after_many_moves_and_refunds()
    {
        await using var sqlite = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        var memory = new InMemoryReferralStore();
        string[] referrers = ["ana", "bob", "cyd", AstralText];
        const int Orders = 40;
        for (int i = 0; i < Orders; i++)
        {
            var order = NewOrder($"o-{i:D2}", $"c-{i % 7}", Start + Duration.FromMinutes(i % 9));
            Assert.True(await sqlite.TryAddConversionAsync(order, Ct));
            Assert.True(await memory.TryAddConversionAsync(order, Ct));
        }
        // A fixed, scrambled sequence of re-evaluations (credit to someone, a repeat, a refusal) and refunds (partial,
        // completing, charge-back), in every order relative to each other.
        for (int step = 0; step < 400; step++)
        {
            int i = (step * 17 + 5) % Orders;
            var order = NewOrder($"o-{i:D2}", $"c-{i % 7}", Start + Duration.FromMinutes(i % 9));
            AttributionResult decision = (step * 7 % 11) switch
            {
                0 => Decision(order, referrer: null, reason: NotAttributedReason.NoTouch),
                1 => Decision(order, referrer: referrers[step % 4], isRepeat: true),
                2 => Decision(order, referrer: referrers[step % 4], reason: NotAttributedReason.FraudBlocked),
                _ => Decision(order, referrer: referrers[(step / 3 + i) % 4]),
            };
            await sqlite.SaveAttributionAsync(decision, Ct);
            await memory.SaveAttributionAsync(decision, Ct);
            if (step % 5 == 0)
            {
                var refund = NewRefund(order.OrderId, $"rf-{step}", step % 3 == 0 ? 30m : 20m, Start + Duration.FromDays(1), chargeback: step % 35 == 0);
                var commit = new RewardCommit { Program = Program, Accounts = [], Refund = refund };
                Assert.Equal(RewardCommitOutcome.Committed, await sqlite.TryCommitAsync(commit, Ct));
                Assert.Equal(RewardCommitOutcome.Committed, await memory.TryCommitAsync(commit, Ct));
            }
        }

        var recount = new Dictionary<string, (long Orders, long Refunded)>(StringComparer.Ordinal);
        using (var connection = OpenRaw(sqlite.DataSource))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT c.referrer, count(*), count(r.order_id) FROM conversions c
                LEFT JOIN refunded_orders r ON r.program = c.program AND r.order_id = c.order_id
                WHERE c.reason = 0 AND c.is_repeat = 0 AND c.referrer IS NOT NULL GROUP BY c.referrer;
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                recount[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
            }
        }
        Assert.True(recount.Values.Sum(v => v.Refunded) > 0, "The sequence refunded no credited order.");
        foreach (var referrer in referrers)
        {
            var id = new ParticipantId(referrer);
            var stats = await sqlite.GetReferredOrderStatsAsync(Program, id, Ct);
            var expected = recount.GetValueOrDefault(referrer);
            Assert.Equal(new ReferredOrderStats((int)expected.Orders, (int)expected.Refunded), stats);
            Assert.Equal(await memory.GetReferredOrderStatsAsync(Program, id, Ct), stats);
            Assert.Equal(
                await memory.CountReferredConversionsAsync(Program, id, Start, Start + Duration.FromMinutes(5), Ct),
                await sqlite.CountReferredConversionsAsync(Program, id, Start, Start + Duration.FromMinutes(5), Ct));
        }
    }

    [Fact]
    public async Task Reward_rows_hold_the_documented_stored_forms()
    {
        string path = _directory.NewDatabasePath();
        var earned = Entry("r-1:earned", "r-1", Start + Duration.FromTicks(7), amount: 10.50m) with { Terms = FullTerms() };
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
                Commit([earned], (Ana, 0)) with { Decision = RewardStoreContract.Decision("o-1", Ana) },
                Ct));
        }

        using var connection = OpenRaw(path);
        Assert.Equal("10.50", Scalar(connection, "SELECT amount FROM reward_entries WHERE entry_id = 'r-1:earned';"));
        Assert.Equal("EUR", Scalar(connection, "SELECT currency FROM reward_entries WHERE entry_id = 'r-1:earned';"));
        Assert.Equal(earned.RecordedAt.ToUnixTimeTicks(), Scalar(connection, "SELECT recorded_at FROM reward_entries WHERE entry_id = 'r-1:earned';"));
        Assert.Equal((long)RewardEntryType.Earned, Scalar(connection, "SELECT type FROM reward_entries WHERE entry_id = 'r-1:earned';"));
        string terms = (string)Scalar(connection, "SELECT terms FROM reward_entries WHERE entry_id = 'r-1:earned';")!;
        Assert.Contains("\"order_amount\":\"79228162514264337593543950335\"", terms, StringComparison.Ordinal);
        Assert.Contains("\"before_cap\":\"12.5000\"", terms, StringComparison.Ordinal);
        Assert.Contains("\"boosts\":[\"black-friday\",\"weekend\",\"black-friday\"]", terms, StringComparison.Ordinal);
        Assert.Contains("\"held_for_review\":true", terms, StringComparison.Ordinal);
        Assert.Equal(1L, Scalar(connection, "SELECT referral_seq FROM reward_decisions WHERE order_id = 'o-1';"));
        Assert.Contains("\"counted\":true", (string)Scalar(connection, "SELECT detail FROM reward_decisions WHERE order_id = 'o-1';")!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commits_with_values_no_row_can_hold_are_refused_and_nothing_is_written()
    {
        await using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        var entry = Entry("e-1", "r-1", Start);
        var ok = Commit([entry], (Ana, 0));

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Accounts = null! }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Entries = [entry, null!] }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Entries = [entry with { Amount = default }] }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Entries = [entry with { Terms = entry.Terms! with { Boosts = null! } }] }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Decision = RewardStoreContract.Decision("o-1", Ana) with { Chain = [default] } }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Decision = RewardStoreContract.Decision("o-1", Ana, program: OtherProgram) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Refund = NewRefund("o-1", "rf-1", 1m, Start, program: OtherProgram) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryCommitAsync(ok with { Refund = NewRefund("o-1", "rf-1", 1m, Start) with { Amount = default } }, Ct));

        Assert.Equal(0, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
        Assert.Empty(await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        Assert.Null(await store.FindDecisionAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListRefundsAsync(Program, "o-1", Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(ok, Ct));
    }

    [Fact]
    public async Task A_reward_row_that_is_not_a_stored_form_fails_with_InvalidDataException()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
            Commit([Entry("e-1", "r-1", Start)], (Ana, 0)) with { Decision = RewardStoreContract.Decision("o-1", Ana) },
            Ct));
        using (var connection = OpenRaw(path))
        {
            Execute(connection, "UPDATE reward_entries SET terms = '{\"rule\": 1' WHERE entry_id = 'e-1';");
            Execute(connection, "UPDATE reward_decisions SET detail = '{\"chain\": [\" padded \"]}' WHERE order_id = 'o-1';");
        }

        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.FindDecisionAsync(Program, "o-1", Ct));
    }

    private static string Plan(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(3));
        }
        return string.Join("\n", lines);
    }

    private static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
