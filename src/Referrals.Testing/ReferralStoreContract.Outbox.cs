using Referrals.Notifications;
using Referrals.Storage;
using Xunit;
using static Referrals.Testing.ContractData;

namespace Referrals.Testing;

public abstract partial class ReferralStoreContract
{
    /// <summary>
    /// The outbox: due notifications by (due instant, id); an update is written only from the due instant it expects;
    /// dead letters leave the due list for their own; an acknowledged notification is gone.
    /// </summary>
    [Fact]
    public async Task Outbox_delivery_state_changes_by_compare_and_set()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(notifications: [Notification("n-b", 5), Notification("n-a", 5), Notification("n-c", 1), Notification("n-d", 20)]));
        Assert.Equal(["n-c", "n-a", "n-b"], (await store.ListDueNotificationsAsync(At(5), 10, Ct)).Select(n => n.Id));
        Assert.Equal(["n-c"], (await store.ListDueNotificationsAsync(At(5), 1, Ct)).Select(n => n.Id));

        var a = Notification("n-a", 5);
        var retried = Delivery(a, At(30), 1, At(5), At(5), ["mail"], [new NotifierFailure("crm", "System.TimeoutException")], deadLetteredAt: null);
        var dead = Delivery(Notification("n-b", 5), At(6), 10, firstAttemptAt: null, lastAttemptAt: null, [], [], deadLetteredAt: At(6));
        var written = await store.TryUpdateNotificationsAsync([new NotificationUpdate(retried, At(5)), new NotificationUpdate(dead, At(5)), new NotificationUpdate(Notification("n-c", 9), At(2))], Ct);
        Assert.Equal(["n-a", "n-b"], written);
        Assert.Empty(await store.TryUpdateNotificationsAsync([new NotificationUpdate(Delivery(retried, retried.DueAt, 2, retried.FirstAttemptAt, retried.LastAttemptAt, retried.NotifiersTold, retried.Failures, deadLetteredAt: null), At(5))], Ct));

        Assert.Equal(["n-c"], (await store.ListDueNotificationsAsync(At(20) - NodaTime.Duration.Epsilon, 10, Ct)).Select(n => n.Id));
        var due = await store.ListDueNotificationsAsync(At(30), 10, Ct);
        Assert.Equal(["n-c", "n-d", "n-a"], due.Select(n => n.Id));
        Assert.Equal(retried, due[2]);
        Assert.Equal(dead, Assert.Single(await store.ListDeadLetteredNotificationsAsync(10, Ct)));

        var requeued = Delivery(dead, At(7), 0, dead.FirstAttemptAt, dead.LastAttemptAt, dead.NotifiersTold, dead.Failures, deadLetteredAt: null);
        Assert.Equal(["n-b"], await store.TryUpdateNotificationsAsync([new NotificationUpdate(requeued, At(6))], Ct));
        Assert.Empty(await store.ListDeadLetteredNotificationsAsync(10, Ct));

        await store.AcknowledgeNotificationsAsync(["n-c", "n-b", "never"], Ct);
        Assert.Equal(["n-d", "n-a"], (await store.ListDueNotificationsAsync(At(30), 10, Ct)).Select(n => n.Id));
        Assert.Empty(await store.TryUpdateNotificationsAsync([new NotificationUpdate(Notification("n-c", 40), At(1))], Ct));
    }

    /// <summary>
    /// The due list spans programs, by (due instant, id); a notification is due at its due instant, not a tick before;
    /// of many writers claiming one notification from the due instant they all read, exactly one wins.
    /// </summary>
    [Fact]
    public async Task Outbox_due_lists_span_programs_and_one_of_racing_claims_wins()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(notifications: [Notification("n-b", 5), Notification("n-c", 1)]));
        await WrittenAsync(store, new UnitOfWork(notifications: [Notification("n-o", 3, program: OtherProgram)]));
        Assert.Equal(["n-c", "n-o", "n-b"], (await store.ListDueNotificationsAsync(At(5), 10, Ct)).Select(n => n.Id));
        Assert.Equal(OtherProgram, (await store.ListDueNotificationsAsync(At(3), 10, Ct))[1].Program);
        Assert.Equal(["n-c"], (await store.ListDueNotificationsAsync(At(3) - NodaTime.Duration.FromTicks(1), 10, Ct)).Select(n => n.Id));

        var n = Notification("n-c", 1);
        var claims = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            Task.Run(async () => await store.TryUpdateNotificationsAsync([new NotificationUpdate(Delivery(n, At(10 + i), n.Attempts, n.FirstAttemptAt, n.LastAttemptAt, n.NotifiersTold, n.Failures, n.DeadLetteredAt), n.DueAt)], Ct), Ct)));

        Assert.Equal(1, claims.Count(c => c.Count == 1));
        int winner = Array.FindIndex(claims, c => c.Count == 1) + 1;
        Assert.Equal(At(10 + winner), (await store.ListDueNotificationsAsync(At(60), 10, Ct)).Single(x => x.Id == "n-c").DueAt);
    }
}
