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

        using (var provider = SqliteEngine.Build(path, clock, new StoppingNotifier()))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, Ct));
            // Committed as one unit: the decision, its two rewards and three pending notifications.
            Assert.True((await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-1", Ct))!.IsAttributed);
            Assert.Equal(3, (await provider.GetRequiredService<IRewardStore>().ListPendingNotificationsAsync(Start + Duration.FromDays(1), 10, Ct)).Count);
        }

        clock.Advance(Duration.FromMinutes(5));
        var recorder = new RecordingNotifier();
        using (var provider = SqliteEngine.Build(path, clock, recorder))
        {
            var rewards = provider.GetRequiredService<RewardService>();

            Assert.Equal(3, (await rewards.ProcessDueAsync(Ct)).Redelivered);
            Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);

            Assert.Equal(["o-1"], recorder.Decided.Select(a => a.OrderId));
            Assert.Equal(["o-1#1:credit:earned", "o-1#1:friend:earned"], recorder.Rewards.Select(e => e.EntryId).Order(StringComparer.Ordinal));
            Assert.Empty(await provider.GetRequiredService<IRewardStore>().ListPendingNotificationsAsync(clock.GetCurrentInstant(), 10, Ct));
        }
    }

    /// <summary>Stands for a process that stops while telling its notifiers.</summary>
    private sealed class StoppingNotifier : IReferralNotifier
    {
        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => throw new OperationCanceledException("stopped");

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => throw new OperationCanceledException("stopped");
    }

    private sealed class RecordingNotifier : IReferralNotifier
    {
        public List<AttributionResult> Decided { get; } = [];

        public List<RewardEntry> Rewards { get; } = [];

        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

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
