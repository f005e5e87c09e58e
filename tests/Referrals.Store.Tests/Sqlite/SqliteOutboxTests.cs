using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using Referrals.Tests.Shared;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// The notification outbox on the SQLite file (the tests every store runs are <see cref="OutboxTests"/>'s): a file the
/// earlier library left with pending notifications keeps and delivers them, and each outbox query reads its own index.
/// </summary>
public sealed class SqliteOutboxTests : OutboxTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    protected override string NewDatabase() => _directory.NewDatabasePath();

    protected override ServiceProvider Build(string database, IClock clock, Action<IServiceCollection, ReferralsBuilder> configure, params IReferralNotifier[] notifiers) =>
        SqliteEngine.Build(database, clock, configure, notifiers);

    protected override Task<IReadOnlyList<string>> ReadDeliveriesAsync(string database)
    {
        using var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ConnectionString);
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT delivery FROM pending_notifications WHERE delivery IS NOT NULL;";
        using var reader = command.ExecuteReader();
        var deliveries = new List<string>();
        while (reader.Read())
        {
            deliveries.Add(reader.GetString(0));
        }
        return Task.FromResult<IReadOnlyList<string>>(deliveries);
    }

    [Fact]
    public async Task A_file_of_schema_version_4_keeps_its_pending_notifications_due_a_minute_after_their_commit_and_delivers_them()
    {
        string path = NewDatabase();
        long t = Start.ToUnixTimeTicks();
        const string Detail = """{"amount":"50","currency":"EUR","channel":1,"medium":1,"chain":["ana"],"touches":[]}""";
        // The old engine wrote an earned entry's terms with it (the reward's fold starts from them).
        string Terms = $$"""{"role":1,"level":1,"kind":1,"rule":"credit","tier":"base","referral_number":1,"order_amount":"50","order_currency":"EUR","before_cap":"10","before_cap_currency":"EUR","conversion_time":{{t}},"hold_until":{{t + 12_096_000_000_000}}}""";
        // Version 4 as the earlier library left it after a process stopped before telling its notifiers: o-1 credited
        // to ana with one reward, its decision and reward change pending.
        SqliteFiles.Write(path, 4, $"""
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-1', 'bob', '50', 'EUR', {t}, 1, 'bob', {t}, 0, 0, 'ana', NULL, {t}, '{Detail}');
                INSERT INTO reward_accounts (program, beneficiary, version) VALUES ('customers', 'ana', 1);
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, terms)
                VALUES (1, 'customers', 'o-1#1:credit:earned', 'o-1#1:credit', 'ana', 'o-1', {(int)RewardEntryType.Earned}, '10', 'EUR', {t}, '{Terms}');
                INSERT INTO pending_notifications (id, kind, program, order_id, entry_id, reward_id, recorded_at)
                VALUES ('n-1', 1, 'customers', 'o-1', NULL, NULL, {t}),
                       ('n-2', 2, 'customers', 'o-1', 'o-1#1:credit:earned', 'o-1#1:credit', {t});
                """);

        var clock = new FakeClock(Start + Duration.FromSeconds(59));
        var recorder = new RecordingNotifier();
        await using var provider = Build(path, clock, recorder);
        var store = provider.GetRequiredService<IReferralStore>();

        var pending = await store.ListDueNotificationsAsync(Start + Duration.FromMinutes(1), 10, Ct);
        Assert.Equal(
            [
                Committed("n-1", NotificationKind.ConversionDecided, Program, Start, Start + Duration.FromMinutes(1), orderId: "o-1"),
                Committed("n-2", NotificationKind.RewardChanged, Program, Start, Start + Duration.FromMinutes(1), orderId: "o-1", entryId: "o-1#1:credit:earned", rewardId: "o-1#1:credit"),
            ],
            pending);
        var rewards = provider.GetRequiredService<RewardService>();
        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);
        clock.Advance(Duration.FromSeconds(1));
        Assert.Equal(2, (await rewards.ProcessDueAsync(Ct)).Redelivered);

        Assert.Equal(["o-1"], recorder.Decided.Select(a => a.OrderId));
        Assert.Equal(["o-1#1:credit:earned"], recorder.Rewards.Select(e => e.EntryId));
        Assert.Empty(await store.ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct));
    }

    [Fact]
    public async Task Due_notifications_and_dead_letters_are_each_read_from_their_own_partial_index()
    {
        string path = NewDatabase();
        await using (SqliteReferralStore.OpenFile(path))
        {
        }
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();

        string due = Plan(connection, SqliteReferralStore.DueNotificationsSql);
        string dead = Plan(connection, SqliteReferralStore.DeadLetteredNotificationsSql);

        Assert.Equal("SEARCH pending_notifications USING INDEX pending_notifications_due (due_at<?)", due);
        Assert.Equal("SEARCH pending_notifications USING INDEX pending_notifications_dead_lettered (dead_lettered_at>?)", dead);
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

    /// <summary>A notification as Core commits it: never attempted, no notifier told yet.</summary>
    private static PendingNotification Committed(string id, NotificationKind kind, ProgramId program, Instant recordedAt, Instant dueAt,
        string? orderId = null, string? entryId = null, string? rewardId = null) =>
        new(id, kind, program, orderId, entryId, rewardId, touchId: null, recordedAt, dueAt, attempts: 0, firstAttemptAt: null, lastAttemptAt: null,
            notifiersTold: [], failures: [], deadLetteredAt: null);
}
