using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>
/// One conversion's writes — attribution with its fraud verdict, rewards, pending notifications — land together, and a
/// process that stops after the commit but before its notifiers leaves the notifications for the next lifecycle pass.
/// </summary>
public sealed class UnitOfWorkTests
{
    private static AttributionWorld World(params IReferralNotifier[] notifiers) =>
        new(p => p.Rewards = new RewardOptions { HoldPeriod = TimeSpan.FromDays(14), Rules = [Fixed("credit", 10m), Fixed("welcome", 5m, RewardRole.Referee)] }, notifiers);

    /// <summary>The world's services again over <paramref name="store"/> and the same clock, as a new process would build them.</summary>
    private static (AttributionService Attribution, RewardService Rewards) Restart(AttributionWorld w, IReferralStore store, params IReferralNotifier[] notifiers)
    {
        var options = Microsoft.Extensions.Options.Options.Create(w.Options);
        var rewardService = new RewardService(options, w.Clock, store, [], notifiers, null);
        var attribution = new AttributionService(options, w.Clock, w.Codes, store, notifiers, null, w.Fraud);
        return (attribution, rewardService);
    }

    [Fact]
    public async Task A_crash_inside_the_commit_leaves_nothing_of_the_conversion_and_recording_again_completes_it()
    {
        var w = World();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        var crashing = UnitRecordingStore.Wrap(w.Contract);
        var (attribution, rewards) = Restart(w, crashing.Store);
        var order = w.Order("o-1", bea, Monday) with { PresentedCode = code.Display };

        crashing.Recorder.CrashNextCommit = true;
        await Assert.ThrowsAsync<IOException>(async () => await attribution.RecordConversionAsync(order, Ct));

        // The session's units — the presented code's touch, the order with its decision, its rewards — were written and
        // rolled back together: nothing of them is stored.
        Assert.NotEmpty(crashing.Recorder.Units);
        Assert.Null(await w.Reads.FindOrderAsync(Customers, "o-1", Ct));
        Assert.Empty(await w.Reads.ListOrderRewardsAsync(Customers, "o-1", Ct));
        Assert.Empty(await w.LedgerAsync());
        Assert.Equal(0, (await rewards.GetReferrerSummaryAsync(Customers, ana, Ct)).SuccessfulReferrals);

        var result = await attribution.RecordConversionAsync(order, Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equivalent(result, await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct), strict: true);
        var earned = await rewards.ListOrderRewardsAsync(Customers, "o-1", Ct);
        Assert.Equal(["credit", "welcome"], earned.Select(r => r.Terms.Rule).Order(StringComparer.Ordinal));
        Assert.Equal(1, (await rewards.GetReferrerSummaryAsync(Customers, ana, Ct)).SuccessfulReferrals);
    }

    [Fact]
    public async Task Delivered_notifications_are_acknowledged_and_none_are_kept_without_notifiers()
    {
        var w = World();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday);

        Assert.Equal(2, w.Notifier.RewardChanges.Count);
        Assert.Single(w.Notifier.Decided);
        Assert.Empty(await w.Reads.ListDueNotificationsAsync(Monday + Duration.FromDays(365), 100, Ct));

        var quiet = UnitRecordingStore.Wrap(w.Contract);
        var (attribution, _) = Restart(w, quiet.Store);
        var cem = await w.ParticipantAsync("cem");
        await attribution.RecordConversionAsync(w.Order("o-2", cem, Monday + Duration.FromHours(1)) with { PresentedCode = code.Display }, Ct);
        Assert.Contains(quiet.Recorder.Units, u => u.Orders.Count == 1 && u.Entries.Count == 2);
        Assert.All(quiet.Recorder.Units, u => Assert.Empty(u.Notifications));
    }

    [Fact]
    public async Task A_process_that_stops_before_telling_its_notifiers_leaves_them_pending_and_the_next_lifecycle_pass_delivers_them_once()
    {
        using var shutdown = new CancellationTokenSource();
        var stopping = new StoppingNotifier(shutdown);
        var w = World(stopping);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");

        // The host shuts down while the notifiers are told of the decision: the commit stands, nothing of it was
        // acknowledged or recorded (the capture, recorded and told before, was).
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, Monday) with { PresentedCode = code.Display }, shutdown.Token));
        Assert.True((await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct))!.IsAttributed);
        var pending = await w.Reads.ListDueNotificationsAsync(w.Clock.GetCurrentInstant() + Duration.FromMinutes(1), 100, Ct);
        Assert.Equal(
            [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged],
            pending.Select(n => n.Kind).Order());
        Assert.All(pending, n => Assert.Equal(0, n.Attempts));

        // A new process: a pass within the minute leaves them to the writer that may still be at it.
        var recorder = new RecordingNotifier();
        var rewards = new RewardService(Microsoft.Extensions.Options.Options.Create(w.Options), w.Clock, w.Contract, [], [recorder], null);
        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);
        Assert.Empty(recorder.Decided);

        w.Clock.Advance(Duration.FromMinutes(2));
        var pass = await rewards.ProcessDueAsync(Ct);

        Assert.Equal(3, pass.Redelivered);
        var decided = Assert.Single(recorder.Decided);
        Assert.Equal("o-1", decided.OrderId);
        Assert.Equal(ana, decided.Referrer);
        Assert.Equal(
            ["o-1#1:credit:earned", "o-1#1:welcome:earned"],
            recorder.RewardChanges.Select(e => e.EntryId).Order(StringComparer.Ordinal));
        Assert.Empty(recorder.Captured);
        Assert.Empty(await w.Reads.ListDueNotificationsAsync(w.Clock.GetCurrentInstant() + Duration.FromDays(1), 100, Ct));
        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);
        Assert.Single(recorder.Decided);
    }

    [Fact]
    public async Task A_redelivered_reward_change_is_the_entry_of_its_own_reward_when_two_rewards_of_an_order_share_an_entry_id()
    {
        var w = World(new RecordingNotifier());
        var ana = await w.ParticipantAsync("ana");
        var at = w.Clock.GetCurrentInstant();
        RewardEntry Entry(string rewardId, decimal amount) => new()
        {
            EntryId = "earned",
            RewardId = rewardId,
            Program = Customers,
            Beneficiary = ana,
            OrderId = "o-9",
            Type = RewardEntryType.Earned,
            Amount = new Money(amount, "EUR"),
            RecordedAt = at,
            Terms = new RewardTerms
            {
                Role = RewardRole.Referrer,
                Level = 1,
                Kind = RewardKind.AccountCredit,
                Rule = rewardId,
                Tier = "base",
                ReferralNumber = 1,
                PercentOfOrder = false,
                OrderAmount = new Money(50m, "EUR"),
                BeforeCap = new Money(amount, "EUR"),
                ConversionTime = at,
                HoldUntil = at + Duration.FromDays(30),
            },
        };
        PendingNotification Changed(string id, string? rewardId) =>
            PendingNotification.Undelivered(id, NotificationKind.RewardChanged, Customers, at, at + Duration.FromMinutes(1), orderId: "o-9", entryId: "earned", rewardId: rewardId);
        // Written by a caller of the store (entry ids are unique per reward) and left pending, as by a process that stopped.
        await using (var session = await w.Reads.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(
                entries: [RewardDocuments.ToRow(Entry("r-1", 5m)), RewardDocuments.ToRow(Entry("r-2", 7m))],
                rewards: [RewardDocuments.ToRow(RewardFold.Start(Entry("r-1", 5m)), 1), RewardDocuments.ToRow(RewardFold.Start(Entry("r-2", 7m)), 1)],
                notifications: [Changed("n-1", "r-1"), Changed("n-2", "r-2"), Changed("n-3", null)]), Ct));
            await session.CommitAsync(Ct);
        }

        var recorder = new RecordingNotifier();
        var (_, rewards) = Restart(w, w.Contract, recorder);
        w.Clock.Advance(Duration.FromMinutes(2));
        Assert.Equal(3, (await rewards.ProcessDueAsync(Ct)).Redelivered);

        // The one stored without a reward id (by an earlier version) names the entry by its id alone: the first.
        Assert.Equal(
            [("r-1", 5m), ("r-1", 5m), ("r-2", 7m)],
            recorder.RewardChanges.Select(e => (e.RewardId, e.Amount.Amount)).Order());
    }

    /// <summary>Stands for a host that shuts down (cancels its token) while the notifiers are told of a decision or reward.</summary>
    private sealed class StoppingNotifier(CancellationTokenSource shutdown) : IReferralNotifier
    {
        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => Stop(cancellationToken);

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => Stop(cancellationToken);

        private ValueTask Stop(CancellationToken cancellationToken)
        {
            shutdown.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.CompletedTask;
        }
    }
}
