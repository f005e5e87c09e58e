using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// The notification outbox on the SQLite file: a process that stops after committing a conversion but before telling its
/// notifiers leaves the notifications in the file, and the next process's lifecycle pass delivers them once.
/// </summary>
public sealed class SqliteOutboxTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Notifications_left_pending_by_a_stopped_process_are_delivered_once_after_a_restart()
    {
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);

        using var shutdown = new CancellationTokenSource();
        using (var provider = SqliteEngine.Build(path, clock, new StoppingNotifier(shutdown)))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, shutdown.Token));
            // Committed as one unit: the presented code's touch, the decision, its two rewards and four pending notifications.
            Assert.True((await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-1", Ct))!.IsAttributed);
            var pending = await provider.GetRequiredService<IRewardStore>().ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct);
            Assert.Equal(
                [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged, NotificationKind.ReferralCaptured],
                pending.Select(n => n.Kind).Order());
        }

        clock.Advance(Duration.FromMinutes(5));
        var recorder = new RecordingNotifier();
        using (var provider = SqliteEngine.Build(path, clock, recorder))
        {
            var rewards = provider.GetRequiredService<RewardService>();

            Assert.Equal(4, (await rewards.ProcessDueAsync(Ct)).Redelivered);
            Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);

            Assert.Equal(["o-1"], recorder.Decided.Select(a => a.OrderId));
            Assert.Equal(["o-1#1:credit:earned", "o-1#1:friend:earned"], recorder.Rewards.Select(e => e.EntryId).Order(StringComparer.Ordinal));
            var captured = Assert.Single(recorder.Captured);
            Assert.Equal(("o-1", new ParticipantId("ana"), new ParticipantId("bob")), (captured.OrderId, captured.Referrer, captured.Customer!.Value));
            Assert.Empty(await provider.GetRequiredService<IRewardStore>().ListDueNotificationsAsync(clock.GetCurrentInstant() + Duration.FromDays(1), 10, Ct));
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
