using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>
/// What every store must do with the notification outbox of <see cref="IRewardStore"/>: keep each notification with its
/// delivery state until acknowledged, list the due ones (not dead letters) by due instant, change the delivery state only
/// when the due instant is the one the writer read — so of two writers that read the same state exactly one wins — and
/// list the dead letters apart.
/// </summary>
public abstract class NotificationOutboxContract
{
    /// <summary>A new, empty store.</summary>
    protected abstract IRewardStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Instant Minutes(int m) => Start + Duration.FromMinutes(m);

    private static PendingNotification Pending(string id, Instant due, ProgramId? program = null) => new()
    {
        Id = id,
        Kind = NotificationKind.ConversionDecided,
        Program = program ?? Program,
        OrderId = "o-" + id,
        RecordedAt = Start,
        DueAt = due,
    };

    private static async Task CommitAsync(IRewardStore store, params PendingNotification[] notifications)
    {
        foreach (var group in notifications.GroupBy(n => n.Program))
        {
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(new RewardCommit { Program = group.Key, Accounts = [], Notifications = [.. group] }, Ct));
        }
    }

    [Fact]
    public async Task Due_notifications_are_listed_by_due_instant_then_id_up_to_a_limit_across_programs()
    {
        var store = CreateStore();
        await CommitAsync(store, Pending("n-b", Minutes(5)), Pending("n-a", Minutes(5)), Pending("n-c", Minutes(1)), Pending("n-d", Minutes(9)), Pending("n-o", Minutes(3), OtherProgram));

        Assert.Equal(["n-c", "n-o", "n-a", "n-b"], (await store.ListDueNotificationsAsync(Minutes(5), 10, Ct)).Select(n => n.Id));
        Assert.Equal(["n-c", "n-o"], (await store.ListDueNotificationsAsync(Minutes(5), 2, Ct)).Select(n => n.Id));
        // Due at the instant itself counts; a tick before it does not.
        Assert.Equal(["n-c"], (await store.ListDueNotificationsAsync(Minutes(3) - Duration.FromTicks(1), 10, Ct)).Select(n => n.Id));
        Assert.Empty(await store.ListDueNotificationsAsync(Minutes(1) - Duration.FromTicks(1), 10, Ct));
        Assert.Empty(await store.ListDueNotificationsAsync(Minutes(60), 0, Ct));
        Assert.Equal(OtherProgram, (await store.ListDueNotificationsAsync(Minutes(3), 10, Ct))[1].Program);
    }

    [Fact]
    public async Task A_notification_round_trips_every_field_with_its_delivery_state()
    {
        var store = CreateStore();
        var captured = Pending("5f0c", Minutes(1)) with
        {
            Kind = NotificationKind.ReferralCaptured,
            OrderId = null,
            TouchId = "2::order:o-ü",
            RecordedAt = Start + Duration.FromTicks(1_234_567),
        };
        var failed = Pending("77aa", Minutes(2)) with
        {
            Kind = NotificationKind.RewardChanged,
            EntryId = "o-77aa#1:credit:earned",
            RewardId = "o-77aa#1:credit",
            Attempts = 3,
            FirstAttemptAt = Start + Duration.FromSeconds(1),
            LastAttemptAt = Start + Duration.FromSeconds(90),
            NotifiersTold = ["Shop.Mailer", "Shop.Crm#2"],
            Failures = [new NotifierFailure("Shop.Crm", "System.Net.Http.HttpRequestException"), new NotifierFailure("Shop.Sms", "System.TimeoutException")],
        };
        await CommitAsync(store, captured, failed);

        Assert.Equal([captured, failed], await store.ListDueNotificationsAsync(Minutes(2), 10, Ct));
    }

    [Fact]
    public async Task A_notification_whose_id_is_pending_is_refused_alone_or_with_others_and_nothing_is_written()
    {
        var store = CreateStore();
        var first = Pending("n-1", Minutes(1));
        await CommitAsync(store, first);

        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(new RewardCommit { Program = Program, Accounts = [], Notifications = [first with { DueAt = Minutes(9) }] }, Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(new RewardCommit { Program = Program, Accounts = [], Notifications = [Pending("n-2", Minutes(2)), first] }, Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(new RewardCommit { Program = Program, Accounts = [], Notifications = [Pending("n-3", Minutes(3)), Pending("n-3", Minutes(4))] }, Ct));

        Assert.Equal([first], await store.ListDueNotificationsAsync(Minutes(60), 10, Ct));
    }

    [Fact]
    public async Task An_update_writes_the_delivery_state_only_while_the_due_instant_is_the_one_read()
    {
        var store = CreateStore();
        var n = Pending("n-1", Minutes(1));
        await CommitAsync(store, n, Pending("n-2", Minutes(1)));
        var claimed = n with { DueAt = Minutes(6) };
        var attempted = n with
        {
            DueAt = Minutes(7),
            Attempts = 1,
            FirstAttemptAt = Minutes(2),
            LastAttemptAt = Minutes(2),
            NotifiersTold = ["A"],
            Failures = [new NotifierFailure("B", "System.IO.IOException")],
            // Fields the notification was committed with are not the update's to change.
            Kind = NotificationKind.RewardChanged,
            OrderId = "other",
            RecordedAt = Minutes(100),
        };

        Assert.Equal(["n-1"], await store.TryUpdateNotificationsAsync([new(claimed, Minutes(1)), new(Pending("missing", Minutes(6)), Minutes(1))], Ct));
        // A second writer that read the same state loses; the one that read the claim wins.
        Assert.Empty(await store.TryUpdateNotificationsAsync([new(n with { DueAt = Minutes(8) }, Minutes(1))], Ct));
        Assert.Equal(["n-1"], await store.TryUpdateNotificationsAsync([new(attempted, Minutes(6))], Ct));

        Assert.Equal(["n-2"], (await store.ListDueNotificationsAsync(Minutes(6), 10, Ct)).Select(x => x.Id));
        var stored = (await store.ListDueNotificationsAsync(Minutes(7), 10, Ct)).Single(x => x.Id == "n-1");
        Assert.Equal(attempted with { Kind = n.Kind, OrderId = n.OrderId, RecordedAt = n.RecordedAt }, stored);
    }

    [Fact]
    public async Task Of_many_writers_claiming_the_same_notification_at_once_exactly_one_wins()
    {
        var store = CreateStore();
        var n = Pending("n-1", Minutes(1));
        await CommitAsync(store, n);

        var claims = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            Task.Run(async () => await store.TryUpdateNotificationsAsync([new(n with { DueAt = Minutes(10 + i) }, n.DueAt)], Ct), Ct)));

        Assert.Equal(1, claims.Count(c => c.Count == 1));
        int winner = Array.FindIndex(claims, c => c.Count == 1) + 1;
        Assert.Equal(Minutes(10 + winner), Assert.Single(await store.ListDueNotificationsAsync(Minutes(60), 10, Ct)).DueAt);
    }

    [Fact]
    public async Task Dead_letters_are_listed_apart_oldest_first_and_an_update_puts_them_back_in_line()
    {
        var store = CreateStore();
        var ns = new[] { Pending("n-1", Minutes(1)), Pending("n-2", Minutes(1)), Pending("n-3", Minutes(1)), Pending("n-4", Minutes(1)) };
        await CommitAsync(store, ns);
        PendingNotification Dead(PendingNotification n, int at) => n with { Attempts = 10, DeadLetteredAt = Minutes(at), DueAt = Minutes(at), Failures = [new NotifierFailure("B", "System.IO.IOException")] };

        Assert.Equal(["n-3", "n-1", "n-2"], await store.TryUpdateNotificationsAsync(
            [new(Dead(ns[2], 20), Minutes(1)), new(Dead(ns[0], 30), Minutes(1)), new(Dead(ns[1], 30), Minutes(1))], Ct));

        Assert.Equal(["n-4"], (await store.ListDueNotificationsAsync(Minutes(100), 10, Ct)).Select(n => n.Id));
        var dead = await store.ListDeadLetteredNotificationsAsync(10, Ct);
        Assert.Equal(["n-3", "n-1", "n-2"], dead.Select(n => n.Id));
        Assert.Equal(Dead(ns[2], 20), dead[0]);
        Assert.Equal(["n-3", "n-1"], (await store.ListDeadLetteredNotificationsAsync(2, Ct)).Select(n => n.Id));

        var requeued = dead[1] with { DeadLetteredAt = null, Attempts = 0, DueAt = Minutes(40) };
        Assert.Equal(["n-1"], await store.TryUpdateNotificationsAsync([new(requeued, Minutes(30))], Ct));

        Assert.Equal(["n-3", "n-2"], (await store.ListDeadLetteredNotificationsAsync(10, Ct)).Select(n => n.Id));
        Assert.Equal(["n-4", "n-1"], (await store.ListDueNotificationsAsync(Minutes(100), 10, Ct)).Select(n => n.Id));
        Assert.Equal(requeued, (await store.ListDueNotificationsAsync(Minutes(40), 10, Ct))[1]);
    }

    [Fact]
    public async Task Acknowledged_notifications_are_gone_whether_due_or_dead_and_unknown_ids_are_ignored()
    {
        var store = CreateStore();
        await CommitAsync(store, Pending("n-1", Minutes(1)), Pending("n-2", Minutes(2)), Pending("n-3", Minutes(3)));
        Assert.Single(await store.TryUpdateNotificationsAsync([new(Pending("n-3", Minutes(3)) with { DeadLetteredAt = Minutes(4), Attempts = 1 }, Minutes(3))], Ct));

        await store.AcknowledgeNotificationsAsync(["n-1", "n-3", "never-was"], Ct);
        await store.AcknowledgeNotificationsAsync(["n-1"], Ct); // again: ignored

        Assert.Equal(["n-2"], (await store.ListDueNotificationsAsync(Minutes(100), 10, Ct)).Select(n => n.Id));
        Assert.Empty(await store.ListDeadLetteredNotificationsAsync(10, Ct));
        // An acknowledged notification is not updated back into existence.
        Assert.Empty(await store.TryUpdateNotificationsAsync([new(Pending("n-1", Minutes(5)), Minutes(1))], Ct));
        Assert.Equal(["n-2"], (await store.ListDueNotificationsAsync(Minutes(100), 10, Ct)).Select(n => n.Id));
    }
}
