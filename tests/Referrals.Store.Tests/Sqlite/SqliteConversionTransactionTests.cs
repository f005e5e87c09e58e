using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A conversion on SQLite is one store transaction (<see cref="ITransactionalStore"/>): the order claim, the presented
/// code's touch, the decision's reads and the unit of work commit together, and the notifiers hear of it afterwards.
/// </summary>
public sealed class SqliteConversionTransactionTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Notifiers_hear_of_a_conversion_only_once_all_of_it_is_committed()
    {
        string path = _directory.NewDatabasePath();
        // The notifier reads through a second store on the file: it sees only what is committed.
        await using var outside = SqliteReferralStore.OpenFile(path);
        var notifier = new CommittedStateNotifier(outside);
        await using var provider = SqliteEngine.Build(path, new FakeClock(Start), notifier);
        var code = await IssueCodeAsync(provider, "ana");

        var decided = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
            NewOrder("o-1", "bea", Start) with { PresentedCode = code.Display }, Ct);

        Assert.True(decided.IsAttributed);
        // Told of the presented code, the decision and both rewards — each time with the whole conversion committed.
        Assert.Equal(["captured", "reward", "reward", "decided"], notifier.Heard.OrderBy(h => h.Kind == "decided").ThenBy(h => h.Kind).Select(h => h.Kind));
        Assert.All(notifier.Heard, h => Assert.True(h.Committed, $"{h.Kind} was told before the conversion was committed"));
    }

    [Fact]
    public async Task A_conversion_that_fails_midway_leaves_nothing_and_records_whole_when_sent_again()
    {
        string path = _directory.NewDatabasePath();
        var failing = new CancellingCheck();
        await using var provider = SqliteEngine.Build(path, new FakeClock(Start), (services, _) => services.AddSingleton<IFraudCheck>(failing));
        var code = await IssueCodeAsync(provider, "ana");
        var attribution = provider.GetRequiredService<AttributionService>();
        var store = provider.GetRequiredService<SqliteReferralStore>();
        var order = NewOrder("o-1", "bea", Start) with { PresentedCode = code.Display };

        // The fraud check runs after the order was claimed and the code recorded; the request is cancelled there, so the
        // reward commit that follows throws.
        using (var cancel = new CancellationTokenSource())
        {
            failing.Cancel = cancel;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await attribution.RecordConversionAsync(order, cancel.Token));
        }
        Assert.Null(await store.FindConversionAsync(Program, "o-1", Ct));
        Assert.Empty(await store.FindTouchesAsync(Program, new ParticipantId("bea"), [], [], Ct));
        Assert.Null(await store.FindAttributionAsync(Program, "o-1", Ct));

        failing.Cancel = null;
        var decided = await attribution.RecordConversionAsync(order, Ct);
        Assert.True(decided.IsAttributed);
        Assert.Equal(2, (await store.ListOrderEntriesAsync(Program, "o-1", Ct)).Count);
        Assert.Single(await store.FindTouchesAsync(Program, new ParticipantId("bea"), [], [], Ct));
    }

    [Fact]
    public async Task Concurrent_recorders_of_one_order_decide_it_once()
    {
        string path = _directory.NewDatabasePath();
        await using var provider = SqliteEngine.Build(path, new FakeClock(Start));
        var code = await IssueCodeAsync(provider, "ana");
        var attribution = provider.GetRequiredService<AttributionService>();
        var store = provider.GetRequiredService<SqliteReferralStore>();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            await attribution.RecordConversionAsync(NewOrder("o-1", "bea", Start) with { PresentedCode = code.Display }, Ct), Ct)));

        Assert.All(results, r => Assert.Equal(results[0].DecidedAt, r.DecidedAt));
        Assert.Equal(2, (await store.ListOrderEntriesAsync(Program, "o-1", Ct)).Count);
        Assert.Equal(1, (await store.LoadAccountAsync(Program, new ParticipantId("ana"), Ct)).Version);
    }

    private static async Task<ReferralCodeRecord> IssueCodeAsync(ServiceProvider provider, string owner)
    {
        var codes = provider.GetRequiredService<ReferralCodeService>();
        await codes.InitializeAsync(Ct);
        return await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId(owner), Medium = ShareMedium.Email }, Ct);
    }

    private sealed class CommittedStateNotifier(SqliteReferralStore outside) : IReferralNotifier
    {
        public List<(string Kind, bool Committed)> Heard { get; } = [];

        public async ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) =>
            Heard.Add(("captured", await IsCommittedAsync(touch.OrderId!, cancellationToken)));

        public async ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) =>
            Heard.Add(("decided", await IsCommittedAsync(attribution.OrderId, cancellationToken)));

        public async ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) =>
            Heard.Add(("reward", await IsCommittedAsync(entry.OrderId, cancellationToken)));

        private async ValueTask<bool> IsCommittedAsync(string orderId, CancellationToken ct) =>
            await outside.FindAttributionAsync(Program, orderId, ct) is not null
            && (await outside.ListOrderEntriesAsync(Program, orderId, ct)).Count == 2;
    }

    private sealed class CancellingCheck : IFraudCheck
    {
        public CancellationTokenSource? Cancel { get; set; }

        public string Name => "cancelling";

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
        {
            Cancel?.Cancel();
            return ValueTask.CompletedTask;
        }
    }
}
