using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Tests.Shared;

/// <summary>
/// The notification outbox on a store's database, for every store (<c>SqliteOutboxTests</c>, <c>PostgreSqlOutboxTests</c>
/// supply the engine): a process that stops after committing a change but before telling its notifiers leaves the
/// notifications in the database, and the next process's lifecycle pass delivers them once; a notifier that fails is told
/// again until it takes them (and the others are not), or, after the last attempt allowed, the notification is kept as a
/// dead letter until re-queued — across restarts and processes (app instances) sharing the database, two of which
/// delivering at once tell each notification once.
/// </summary>
public abstract class OutboxTests
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, empty database for one test: a SQLite file's path, a PostgreSQL schema's name.</summary>
    protected abstract string NewDatabase();

    /// <summary>
    /// The whole engine on <paramref name="database"/>, as one process builds it (the store tests' <c>SqliteEngine</c> or
    /// <c>PostgreSqlEngine</c>); two built on the same database stand for two processes, or a restarted one.
    /// </summary>
    protected abstract ServiceProvider Build(string database, IClock clock, Action<IServiceCollection, ReferralsBuilder> configure, params IReferralNotifier[] notifiers);

    /// <summary>The <c>delivery</c> column of the database's pending notifications that have one, read beside the store.</summary>
    protected abstract Task<IReadOnlyList<string>> ReadDeliveriesAsync(string database);

    /// <summary>The engine as the store's tests build it, without additions.</summary>
    protected ServiceProvider Build(string database, IClock clock, params IReferralNotifier[] notifiers) =>
        Build(database, clock, static (_, _) => { }, notifiers);

    [Fact]
    public async Task Notifications_left_pending_by_a_stopped_process_are_delivered_once_after_a_restart()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);

        using var shutdown = new CancellationTokenSource();
        await using (var provider = Build(database, clock, new StoppingNotifier(shutdown)))
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
        await using (var provider = Build(database, clock, recorder))
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
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        var random = new Random(2026);
        var flaky = new ScriptedNotifier { FailWhen = () => random.NextDouble() < 0.3 };
        var healthy = new ScriptedNotifier();
        const int Orders = 150;
        await using var provider = Build(database, clock, flaky, healthy);
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
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        static void ThreeAttempts(IServiceCollection services, ReferralsBuilder _) => services.Configure<ReferralsOptions>(o => o.Notifications.MaxAttempts = 3);
        var failing = new ScriptedNotifier { Failing = true, Failure = static () => new HttpRequestException("503 from crm.example for bob@example.com") };
        var healthy = new RecordingNotifier();
        await using (var provider = Build(database, clock, ThreeAttempts, failing, healthy))
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
        await using (var provider = Build(database, clock, ThreeAttempts, mended, healthyAgain))
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
            var deliveries = await ReadDeliveriesAsync(database);
            Assert.Equal(4, deliveries.Count);
            Assert.All(deliveries, d => Assert.DoesNotContain("bob@", d, StringComparison.Ordinal));

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
    public async Task Passes_of_two_instances_sharing_the_database_at_once_deliver_each_notification_once()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        var failing = new ScriptedNotifier { Failing = true };
        await using (var provider = Build(database, clock, failing))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            var attribution = provider.GetRequiredService<AttributionService>();
            for (int i = 0; i < 60; i++)
            {
                await attribution.RecordConversionAsync(NewOrder("o-" + i, "friend-" + i, Start) with { PresentedCode = code.Display }, Ct);
            }
        }
        clock.Advance(Duration.FromMinutes(5));
        // Two processes (two stores on the database), each with the notifier mended, run their passes at the same time.
        var first = new ScriptedNotifier();
        var second = new ScriptedNotifier();
        await using var one = Build(database, clock, first);
        await using var two = Build(database, clock, second);

        var passes = await Task.WhenAll(
            Task.Run(async () => await one.GetRequiredService<RewardService>().ProcessDueAsync(Ct), Ct),
            Task.Run(async () => await two.GetRequiredService<RewardService>().ProcessDueAsync(Ct), Ct));

        Assert.Equal(240, passes.Sum(p => p.Redelivered));
        var told = first.Told.Concat(second.Told).ToList();
        Assert.Equal(240, told.Count);
        Assert.Equal(240, told.Distinct().Count());
        Assert.Empty(await one.GetRequiredService<IReferralStore>().ListDueNotificationsAsync(clock.GetCurrentInstant() + Duration.FromDays(1), 10, Ct));
    }

    /// <summary>Stands for a host that shuts down (cancels its token) as soon as the notifiers are told anything.</summary>
    protected sealed class StoppingNotifier(CancellationTokenSource shutdown) : IReferralNotifier
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

    /// <summary>Keeps what it is told, in order.</summary>
    protected sealed class RecordingNotifier : IReferralNotifier
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
