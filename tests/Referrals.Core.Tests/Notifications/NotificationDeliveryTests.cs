using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Notifications;

/// <summary>
/// Delivery through the outbox on the in-memory store: a notifier that throws (or times out) is told again by a later
/// lifecycle pass, the notifiers that took a notification are not told it again, attempts back off and end in the
/// dead-letter state, which an operator lists and re-queues.
/// </summary>
public sealed class NotificationDeliveryTests
{
    private static readonly string Recording = typeof(RecordingNotifier).FullName!;
    private static readonly string Scripted = typeof(ScriptedNotifier).FullName!;

    private static AttributionWorld World(params IReferralNotifier[] notifiers) =>
        new(p => p.Rewards = new RewardOptions { HoldPeriod = TimeSpan.FromDays(14), Rules = [Fixed("credit", 10m), Fixed("welcome", 5m, RewardRole.Referee)] }, notifiers);

    /// <summary>The services again over the world's store and clock, with these notification settings and only these notifiers.</summary>
    private static (AttributionService Attribution, RewardService Rewards) Engine(AttributionWorld w, Action<NotificationOptions> configure, params IReferralNotifier[] notifiers)
    {
        configure(w.Options.Notifications);
        var options = Microsoft.Extensions.Options.Options.Create(w.Options);
        var rewards = new RewardService(options, w.Clock, w.Contract, [], notifiers, null);
        return (new AttributionService(options, w.Clock, w.Codes, w.Contract, notifiers, null, w.Fraud), rewards);
    }

    /// <summary>bea buys with ana's code: a capture (the code at checkout), a decision and two rewards to tell.</summary>
    private static async Task<ParticipantId> ReferAsync(AttributionWorld w, AttributionService attribution, string orderId = "o-1", string friend = "bea")
    {
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var customer = await w.ParticipantAsync(friend);
        var result = await attribution.RecordConversionAsync(w.Order(orderId, customer, w.Clock.GetCurrentInstant()) with { PresentedCode = code.Display }, Ct);
        Assert.True(result.IsAttributed, result.Explain());
        return ana;
    }

    private static string[] Keys(string orderId, string touchId) =>
        [$"captured:{touchId}", $"decided:{orderId}", $"reward:{orderId}#1:credit/{orderId}#1:credit:earned", $"reward:{orderId}#1:welcome/{orderId}#1:welcome:earned"];

    private static string[] Told(RecordingNotifier n) =>
        [.. n.Captured.Select(t => "captured:" + t.Id), .. n.Decided.Select(a => "decided:" + a.OrderId), .. n.RewardChanges.Select(e => $"reward:{e.RewardId}/{e.EntryId}")];

    [Fact]
    public async Task A_notifier_that_throws_is_told_again_by_a_later_pass_and_the_notifiers_that_took_it_are_not()
    {
        var flaky = new ScriptedNotifier { Failing = true };
        var w = World(flaky);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday);
        var expected = Keys("o-1", "2::order:o-1");
        Assert.Equal(expected.Order(StringComparer.Ordinal), Told(w.Notifier).Order(StringComparer.Ordinal));
        Assert.Empty(flaky.Told);

        flaky.Failing = false;
        w.Clock.Advance(Duration.FromMinutes(2));
        var pass = await w.Rewards.ProcessDueAsync(Ct);

        Assert.Equal(4, pass.Redelivered);
        Assert.Equal(expected.Order(StringComparer.Ordinal), flaky.Told.Order(StringComparer.Ordinal));
        // The recording notifier took everything the first time: it is not told again.
        Assert.Equal(expected.Order(StringComparer.Ordinal), Told(w.Notifier).Order(StringComparer.Ordinal));
        w.Clock.Advance(Duration.FromHours(1));
        Assert.Equal(0, (await w.Rewards.ProcessDueAsync(Ct)).Redelivered);
        Assert.Equal(4, flaky.Told.Count);
    }

    [Fact]
    public async Task A_notifiers_own_timeout_is_a_failure_kept_for_later_not_an_exception_of_the_conversion()
    {
        // An HTTP client's timeout: an OperationCanceledException the caller did not ask for.
        var slow = new ScriptedNotifier { Failing = true, Failure = static () => new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout") };
        var w = World(slow);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);

        var result = await w.ReferAsync(code, "bea", "o-1", Monday);

        Assert.Equal(ana, result.Referrer);
        slow.Failing = false;
        w.Clock.Advance(Duration.FromMinutes(2));
        Assert.Equal(4, (await w.Rewards.ProcessDueAsync(Ct)).Redelivered);
        Assert.Equal(Keys("o-1", "2::order:o-1").Order(StringComparer.Ordinal), slow.Told.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_capture_a_notifier_failed_to_take_is_delivered_by_a_later_pass()
    {
        var flaky = new ScriptedNotifier { Failing = true };
        var w = World(flaky);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        var captured = await w.ClickAsync(w.Links.Build(code.Code, ShareMedium.Sms).Url, "visitor-1", Monday);
        Assert.Equal(CaptureOutcome.Captured, captured.Outcome);
        Assert.Single(w.Notifier.Captured);

        flaky.Failing = false;
        w.Clock.Advance(Duration.FromMinutes(2));
        Assert.Equal(1, (await w.Rewards.ProcessDueAsync(Ct)).Redelivered);

        Assert.Equal(["captured:" + captured.Touch!.Id], flaky.Told);
        Assert.Single(w.Notifier.Captured);
    }

    [Fact]
    public async Task Failed_attempts_back_off_from_the_first_delay_doubling_to_the_cap_and_the_last_one_dead_letters()
    {
        var w = World();
        var healthy = new RecordingNotifier();
        var failing = new ScriptedNotifier { Failing = true };
        var (attribution, rewards) = Engine(w, o => { o.MaxAttempts = 4; o.FirstRetryDelay = TimeSpan.FromSeconds(30); o.MaxRetryDelay = TimeSpan.FromSeconds(50); }, healthy, failing);
        var t0 = w.Clock.GetCurrentInstant();
        await ReferAsync(w, attribution);
        var failure = new NotifierFailure(Scripted, "System.InvalidOperationException");

        async Task<IReadOnlyList<PendingNotification>> Pending() => await w.Reads.ListDueNotificationsAsync(t0 + Duration.FromDays(1), 10, Ct);
        var first = await Pending();
        Assert.Equal(4, first.Count);
        Assert.All(first, n => Assert.Equal(
            (1, t0, t0, t0 + Duration.FromSeconds(30), (Instant?)null),
            (n.Attempts, n.FirstAttemptAt, n.LastAttemptAt, n.DueAt, n.DeadLetteredAt)));
        Assert.All(first, n => Assert.Equal([Recording], n.NotifiersTold));
        Assert.All(first, n => Assert.Equal([failure], n.Failures));

        // Not due yet: the pass tries nothing.
        w.Clock.Advance(Duration.FromSeconds(29));
        Assert.Equal(default, await rewards.ProcessDueAsync(Ct));
        int calls = failing.Calls;

        // 30 s after the first attempt, then 30 s doubled to 60 s but capped at 50 s, then 50 s again.
        w.Clock.Advance(Duration.FromSeconds(1));
        Assert.Equal((0, 4, 0), Notifications(await rewards.ProcessDueAsync(Ct)));
        Assert.All(await Pending(), n => Assert.Equal((2, t0 + Duration.FromSeconds(80)), (n.Attempts, n.DueAt)));
        w.Clock.Advance(Duration.FromSeconds(50));
        Assert.Equal((0, 4, 0), Notifications(await rewards.ProcessDueAsync(Ct)));
        Assert.All(await Pending(), n => Assert.Equal((3, t0 + Duration.FromSeconds(130), t0, t0 + Duration.FromSeconds(80)), (n.Attempts, n.DueAt, n.FirstAttemptAt!.Value, n.LastAttemptAt!.Value)));
        w.Clock.Advance(Duration.FromSeconds(50));
        Assert.Equal((0, 0, 4), Notifications(await rewards.ProcessDueAsync(Ct)));

        Assert.Empty(await Pending());
        var dead = await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct);
        Assert.Equal(4, dead.Count);
        Assert.All(dead, n => Assert.Equal((4, t0 + Duration.FromSeconds(130), t0), (n.Attempts, n.DeadLetteredAt!.Value, n.FirstAttemptAt!.Value)));
        Assert.All(dead, n => Assert.Equal([failure], n.Failures));
        Assert.Equal(
            [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged, NotificationKind.ReferralCaptured],
            dead.Select(n => n.Kind).Order());
        Assert.Equal(calls + 12, failing.Calls);
        // Dead letters are not tried again; the healthy notifier was told each notification once.
        w.Clock.Advance(Duration.FromDays(1));
        Assert.Equal(default, await rewards.ProcessDueAsync(Ct));
        Assert.Equal(Keys("o-1", "2::order:o-1").Order(StringComparer.Ordinal), Told(healthy).Order(StringComparer.Ordinal));

        static (int Redelivered, int Undelivered, int DeadLettered) Notifications(RewardProcessingResult r) => (r.Redelivered, r.Undelivered, r.DeadLettered);
    }

    [Fact]
    public async Task A_requeued_dead_letter_is_delivered_by_the_next_pass_to_the_notifiers_not_told_only()
    {
        var w = World();
        var healthy = new ScriptedNotifier();
        var failing = new ScriptedNotifier { Failing = true };
        var (attribution, rewards) = Engine(w, o => o.MaxAttempts = 1, healthy, failing);
        await ReferAsync(w, attribution);
        var dead = await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct);
        Assert.Equal(4, dead.Count);
        // Two notifiers of one type: the second is told apart by a suffix.
        Assert.All(dead, n => Assert.Equal([Scripted], n.NotifiersTold));
        Assert.All(dead, n => Assert.Equal([new NotifierFailure(Scripted + "#2", "System.InvalidOperationException")], n.Failures));

        failing.Failing = false;
        w.Clock.Advance(Duration.FromMinutes(5));
        Assert.Equal(4, await rewards.RequeueDeadLetteredNotificationsAsync(dead, Ct));
        // Listed before the re-queue, they are no longer what is stored: nothing to re-queue again. Nor is a notification
        // that is not a dead letter.
        Assert.Equal(0, await rewards.RequeueDeadLetteredNotificationsAsync(dead, Ct));
        Assert.Equal(0, await rewards.RequeueDeadLetteredNotificationsAsync([dead[0] with { DeadLetteredAt = null }], Ct));
        Assert.Empty(await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct));
        var requeued = await w.Reads.ListDueNotificationsAsync(w.Clock.GetCurrentInstant(), 10, Ct);
        Assert.All(requeued, n => Assert.Equal((0, w.Clock.GetCurrentInstant()), (n.Attempts, n.DueAt)));

        Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).Redelivered);

        var expected = Keys("o-1", "2::order:o-1").Order(StringComparer.Ordinal);
        Assert.Equal(expected, failing.Told.Order(StringComparer.Ordinal));
        Assert.Equal(expected, healthy.Told.Order(StringComparer.Ordinal));
        Assert.Empty(await w.Reads.ListDueNotificationsAsync(w.Clock.GetCurrentInstant() + Duration.FromDays(1), 10, Ct));
    }

    [Fact]
    public async Task A_capture_recorded_before_leaves_no_notification_and_one_whose_touch_was_never_stored_is_dropped()
    {
        var w = World();
        var notifier = new ScriptedNotifier();
        var (attribution, rewards) = Engine(w, _ => { }, notifier);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        var click = new CaptureRequest { Program = Customers, Kind = TouchKind.LinkClick, Input = code.Display, VisitorId = "v-1", EventTime = Monday };

        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(click, Ct)).Outcome);
        Assert.Equal(CaptureOutcome.Duplicate, (await attribution.CaptureAsync(click, Ct)).Outcome);
        Assert.Single(notifier.Told);
        Assert.Empty(await w.Reads.ListDueNotificationsAsync(Monday + Duration.FromDays(1), 10, Ct));

        // Written by an earlier version that stopped before it stored the touch (it wrote the notification first on a
        // store without transactions): there is nothing to tell, and the pass removes it.
        var orphan = PendingNotification.Undelivered("orphan", NotificationKind.ReferralCaptured, Customers, Monday, Monday + Duration.FromMinutes(1), touchId: "1::never-stored");
        await using (var session = await w.Reads.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(notifications: [orphan]), Ct));
            await session.CommitAsync(Ct);
        }
        w.Clock.Advance(Duration.FromMinutes(2));

        Assert.Equal(default, await rewards.ProcessDueAsync(Ct));
        Assert.Single(notifier.Told);
        Assert.Empty(await w.Reads.ListDueNotificationsAsync(Monday + Duration.FromDays(1), 10, Ct));
    }

    /// <summary>Orders and a notifier's failures, call by call (true: the call throws); calls past the list succeed.</summary>
    private static Arbitrary<(int Orders, bool[] Failures)> Histories() =>
        Gen.Choose(1, 6).Zip(Gen.Frequency((3, Gen.Constant(false)), (2, Gen.Constant(true))).ListOf().Select(l => l.ToArray()))
            .ToArbitrary();

    [Property(MaxTest = 60)]
    public Property Every_notification_reaches_a_failing_notifier_at_least_once_and_a_healthy_one_exactly_once() =>
        Prop.ForAll(Histories(), h =>
        {
            var w = World();
            var healthy = new ScriptedNotifier();
            int call = 0;
            var flaky = new ScriptedNotifier { FailWhen = () => call < h.Failures.Length && h.Failures[call++] };
            var (attribution, rewards) = Engine(w, o => o.MaxAttempts = 1000, flaky, healthy);
            for (int i = 0; i < h.Orders; i++)
            {
                ReferAsync(w, attribution, "o-" + i, "friend-" + i).GetAwaiter().GetResult();
                w.Clock.Advance(Duration.FromSeconds(20));
                _ = rewards.ProcessDueAsync(Ct).AsTask().GetAwaiter().GetResult();
            }
            for (int pass = 0; pass < h.Failures.Length + 2; pass++)
            {
                w.Clock.Advance(Duration.FromHours(1));
                _ = rewards.ProcessDueAsync(Ct).AsTask().GetAwaiter().GetResult();
            }
            var expected = Enumerable.Range(0, h.Orders).SelectMany(i => Keys("o-" + i, "2::order:o-" + i)).Order(StringComparer.Ordinal).ToArray();
            return healthy.Told.Order(StringComparer.Ordinal).SequenceEqual(expected)
                && flaky.Told.Distinct().Order(StringComparer.Ordinal).SequenceEqual(expected)
                && w.Reads.ListDueNotificationsAsync(Monday + Duration.FromDays(3650), 10, Ct).AsTask().GetAwaiter().GetResult().Count == 0;
        });
}
