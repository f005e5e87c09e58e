using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The notification outbox on PostgreSQL (the SQLite store's <c>SqliteOutboxTests</c>): a process that stops after
/// committing a change but before telling its notifiers leaves the notifications in the database, and the next engine's
/// lifecycle pass delivers them once; a notifier that fails is told again until it takes them (and the others are not),
/// or, after the last attempt allowed, the notification is kept as a dead letter until re-queued — across restarts and
/// app instances sharing the schema, two of which delivering at once tell each notification once.
/// </summary>
public sealed class PostgreSqlOutboxTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Notifications_left_pending_by_a_stopped_process_are_delivered_once_after_a_restart()
    {
        string schema = database.NewSchemaName();
        var clock = new FakeClock(Start);

        using var shutdown = new CancellationTokenSource();
        await using (var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, new StoppingNotifier(shutdown)))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, shutdown.Token));
            // Committed as one unit: the presented code's touch, the decision, its two rewards and four pending notifications.
            Assert.True((await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-1", Ct))!.IsAttributed);
            var pending = await provider.GetRequiredService<IReferralStore>().ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct);
            Assert.Equal(
                [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged, NotificationKind.ReferralCaptured],
                pending.Select(n => n.Kind).Order());
        }

        clock.Advance(Duration.FromMinutes(5));
        var recorder = new RecordingNotifier();
        await using (var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, recorder))
        {
            var rewards = provider.GetRequiredService<RewardService>();

            Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).Redelivered);
            Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);

            Assert.Equal(["o-1"], recorder.Decided.Select(a => a.OrderId));
            Assert.Equal(["o-1#1:credit:earned", "o-1#1:friend:earned"], recorder.Rewards.Select(e => e.EntryId).Order(StringComparer.Ordinal));
            var captured = Assert.Single(recorder.Captured);
            Assert.Equal(("o-1", new ParticipantId("ana"), new ParticipantId("bob")), (captured.OrderId, captured.Referrer, captured.Customer!.Value));
            Assert.Empty(await provider.GetRequiredService<IReferralStore>().ListDueNotificationsAsync(clock.GetCurrentInstant() + Duration.FromDays(1), 10, Ct));
        }
    }

    [Fact]
    public async Task With_a_notifier_failing_30_percent_of_the_time_every_notification_reaches_it_and_a_healthy_one_hears_each_once()
    {
        string schema = database.NewSchemaName();
        var clock = new FakeClock(Start);
        var random = new Random(2026);
        var flaky = new ScriptedNotifier { FailWhen = () => random.NextDouble() < 0.3 };
        var healthy = new ScriptedNotifier();
        const int Orders = 150;
        await using var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, flaky, healthy);
        var attribution = provider.GetRequiredService<AttributionService>();
        var rewards = provider.GetRequiredService<RewardService>();
        var codes = new List<ReferralCodeRecord>();
        for (int r = 0; r < 15; r++)
        {
            codes.Add(await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("referrer-" + r), Medium = ShareMedium.Sms }, Ct));
        }

        // Each friend clicks a referrer's link (a capture), then orders with the code (a capture, a decision, two
        // rewards); every fifth order is refunded (two reward changes); the others' rewards are approved when the hold
        // ends (two more). The lifecycle runs every ten orders, as a scheduler would.
        var captures = new List<string>();
        for (int i = 0; i < Orders; i++)
        {
            var code = codes[i % codes.Count];
            var click = await attribution.CaptureAsync(
                new CaptureRequest { Program = Program, Kind = TouchKind.LinkClick, Input = code.Display, VisitorId = "visitor-" + i, EventTime = clock.GetCurrentInstant() },
                Ct);
            Assert.Equal(CaptureOutcome.Captured, click.Outcome);
            captures.Add(click.Touch!.Id);
            clock.Advance(Duration.FromSeconds(20));
            var decided = await attribution.RecordConversionAsync(NewOrder("o-" + i, "friend-" + i, clock.GetCurrentInstant()) with { PresentedCode = code.Display }, Ct);
            Assert.True(decided.IsAttributed, decided.Explain());
            captures.Add(decided.TouchId!);
            clock.Advance(Duration.FromSeconds(40));
            if (i % 10 == 9)
            {
                await rewards.ProcessDueAsync(Ct);
            }
        }
        for (int i = 0; i < Orders; i += 5)
        {
            Assert.Equal(RefundOutcome.Recorded, (await rewards.RecordRefundAsync(new Refund { Program = Program, OrderId = "o-" + i, RefundId = "rf-" + i, Amount = new Money(50m, "EUR"), EventTime = clock.GetCurrentInstant() }, Ct)).Outcome);
        }
        clock.Advance(Duration.FromDays(15));
        for (int pass = 0; pass < 30; pass++)
        {
            await rewards.ProcessDueAsync(Ct);
            clock.Advance(Duration.FromHours(1));
        }

        var expected = new List<string>();
        expected.AddRange(captures.Select(id => "captured:" + id));
        for (int i = 0; i < Orders; i++)
        {
            expected.Add("decided:o-" + i);
            expected.AddRange((await rewards.ListOrderRewardsAsync(Program, "o-" + i, Ct)).SelectMany(r => r.Entries).Select(e => $"reward:{e.RewardId}/{e.EntryId}"));
        }
        expected.Sort(StringComparer.Ordinal);
        // Captures, decisions, rewards earned, cancelled by the refunds, approved.
        Assert.Equal((2 * Orders) + Orders + (2 * Orders) + (2 * (Orders / 5)) + (2 * (Orders - (Orders / 5))), expected.Count);
        Assert.True(flaky.Calls > flaky.Told.Count + expected.Count / 4, $"{flaky.Calls} calls for {expected.Count} notifications: it failed too rarely to test anything");
        // The healthy notifier heard of each change once; the flaky one at least once (it took each exactly once: a
        // failed call takes nothing).
        Assert.Equal(expected, healthy.Told.Order(StringComparer.Ordinal));
        Assert.Equal(expected, flaky.Told.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_notification_that_keeps_failing_is_dead_lettered_kept_across_a_restart_and_delivered_once_requeued()
    {
        string schema = database.NewSchemaName();
        var clock = new FakeClock(Start);
        static void ThreeAttempts(IServiceCollection services, ReferralsBuilder _) => services.Configure<ReferralsOptions>(o => o.Notifications.MaxAttempts = 3);
        var failing = new ScriptedNotifier { Failing = true, Failure = static () => new HttpRequestException("503 from crm.example for bob@example.com") };
        var healthy = new RecordingNotifier();
        await using (var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, ThreeAttempts, failing, healthy))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, Ct);
            var rewards = provider.GetRequiredService<RewardService>();
            clock.Advance(Duration.FromSeconds(30));
            Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).Undelivered);
            clock.Advance(Duration.FromMinutes(1));
            Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).DeadLettered);
        }
        Assert.Equal(12, failing.Calls);
        Assert.Single(healthy.Decided);

        // The next process, with the notifier mended: the dead letters are in the database, with what an operator needs.
        clock.Advance(Duration.FromHours(1));
        var mended = new ScriptedNotifier();
        var healthyAgain = new RecordingNotifier();
        await using (var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, ThreeAttempts, mended, healthyAgain))
        {
            var rewards = provider.GetRequiredService<RewardService>();
            Assert.Equal(default, await rewards.ProcessDueAsync(Ct));
            var dead = await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct);
            Assert.Equal(
                [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged, NotificationKind.ReferralCaptured],
                dead.Select(n => n.Kind).Order());
            Assert.All(dead, n => Assert.Equal((3, Start, Start + Duration.FromSeconds(90), Start + Duration.FromSeconds(90)), (n.Attempts, n.FirstAttemptAt!.Value, n.LastAttemptAt!.Value, n.DeadLetteredAt!.Value)));
            Assert.All(dead, n => Assert.Equal([typeof(RecordingNotifier).FullName!], n.NotifiersTold));
            Assert.All(dead, n => Assert.Equal([new NotifierFailure(typeof(ScriptedNotifier).FullName!, "System.Net.Http.HttpRequestException")], n.Failures));
            Assert.Equal(["o-1", "o-1", "o-1", null], dead.OrderBy(n => n.Kind).Select(n => n.OrderId));
            // The exception's message (personal data, here) is never stored.
            await using (var raw = await RawSql.OpenAsync(database, schema))
            {
                Assert.Equal(4L, await raw.ScalarAsync("SELECT count(*) FROM pending_notifications WHERE delivery IS NOT NULL;"));
                Assert.DoesNotContain("bob@", (string)(await raw.ScalarAsync("SELECT string_agg(delivery, ' ') FROM pending_notifications;"))!, StringComparison.Ordinal);
            }

            Assert.Equal(4, await rewards.RequeueDeadLetteredNotificationsAsync(dead, Ct));
            Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).Redelivered);

            Assert.Equal(4, mended.Told.Count);
            Assert.Contains("decided:o-1", mended.Told);
            // The notifier told before the restart is not told again.
            Assert.Empty(healthyAgain.Decided);
            Assert.Empty(healthyAgain.Rewards);
            Assert.Empty(healthyAgain.Captured);
            Assert.Empty(await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct));
        }
    }

    [Fact]
    public async Task Passes_of_two_instances_sharing_the_schema_at_once_deliver_each_notification_once()
    {
        string schema = database.NewSchemaName();
        var clock = new FakeClock(Start);
        var failing = new ScriptedNotifier { Failing = true };
        await using (var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, failing))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            var attribution = provider.GetRequiredService<AttributionService>();
            for (int i = 0; i < 60; i++)
            {
                await attribution.RecordConversionAsync(NewOrder("o-" + i, "friend-" + i, Start) with { PresentedCode = code.Display }, Ct);
            }
        }
        clock.Advance(Duration.FromMinutes(5));
        // Two processes (two stores on the schema), each with the notifier mended, run their passes at the same time.
        var first = new ScriptedNotifier();
        var second = new ScriptedNotifier();
        await using var one = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, first);
        await using var two = PostgreSqlEngine.Build(database.ConnectionString, schema, clock, second);

        var passes = await Task.WhenAll(
            Task.Run(async () => await one.GetRequiredService<RewardService>().ProcessDueAsync(Ct), Ct),
            Task.Run(async () => await two.GetRequiredService<RewardService>().ProcessDueAsync(Ct), Ct));

        Assert.Equal(240, passes.Sum(p => p.Redelivered));
        var told = first.Told.Concat(second.Told).ToList();
        Assert.Equal(240, told.Count);
        Assert.Equal(240, told.Distinct().Count());
        Assert.Empty(await one.GetRequiredService<IReferralStore>().ListDueNotificationsAsync(clock.GetCurrentInstant() + Duration.FromDays(1), 10, Ct));
    }

    [Fact]
    public async Task Due_notifications_and_dead_letters_are_each_read_from_their_own_partial_index()
    {
        string schema = database.NewSchemaName();
        await using (await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct))
        {
        }
        await using var raw = await RawSql.OpenAsync(database, schema);
        // A few thousand pending notifications, one in ten dead-lettered.
        await raw.ExecuteAsync("""
            INSERT INTO pending_notifications (id, kind, program, recorded_at, due_at, attempts, dead_lettered_at)
            SELECT 'n' || i, 1, 'customers', i, i, 0, CASE WHEN i % 10 = 0 THEN i END FROM generate_series(1, 5000) i;
            ANALYZE pending_notifications;
            """);

        Assert.Equal(["Index Scan using pending_notifications_due"], await ScansAsync(raw, PostgreSqlReferralStore.DueNotificationsSql, ("now", 2500L), ("limit", 100)));
        Assert.Equal(["Index Scan using pending_notifications_dead_lettered"], await ScansAsync(raw, PostgreSqlReferralStore.DeadLetteredNotificationsSql, ("limit", 100)));
    }

    /// <summary>The scans of a statement's plan, as "node type using index".</summary>
    private static async Task<List<string>> ScansAsync(RawSql raw, string template, params (string Name, object Value)[] parameters)
    {
        await using var command = new Npgsql.NpgsqlCommand("EXPLAIN (FORMAT JSON) " + template.Replace("{s}.", "", StringComparison.Ordinal), raw.Connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await command.ExecuteScalarAsync(Ct))!);
        var scans = new List<string>();
        Walk(plan.RootElement[0].GetProperty("Plan"));
        return scans;

        void Walk(System.Text.Json.JsonElement node)
        {
            string type = node.GetProperty("Node Type").GetString()!;
            if (type.Contains("Scan", StringComparison.Ordinal))
            {
                scans.Add(node.TryGetProperty("Index Name", out var index) ? $"{type} using {index.GetString()}" : type);
            }
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    Walk(child);
                }
            }
        }
    }

    /// <summary>Stands for a host that shuts down (cancels its token) as soon as the notifiers are told anything.</summary>
    private sealed class StoppingNotifier(CancellationTokenSource shutdown) : IReferralNotifier
    {
        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => Stop(cancellationToken);

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => Stop(cancellationToken);

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => Stop(cancellationToken);

        private ValueTask Stop(CancellationToken cancellationToken)
        {
            shutdown.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class RecordingNotifier : IReferralNotifier
    {
        public List<Touch> Captured { get; } = [];

        public List<AttributionResult> Decided { get; } = [];

        public List<RewardEntry> Rewards { get; } = [];

        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken)
        {
            Captured.Add(touch);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken)
        {
            Decided.Add(attribution);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
        {
            Rewards.Add(entry);
            return ValueTask.CompletedTask;
        }
    }
}
