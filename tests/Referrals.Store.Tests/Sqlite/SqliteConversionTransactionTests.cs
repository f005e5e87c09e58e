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
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A conversion on SQLite is one store session (<see cref="IReferralStore.BeginAsync"/>): the order, the presented
/// code's touch, the decision's reads and the unit of work commit together, and the notifiers hear of it afterwards.
/// What was committed is read through the store contract and the public services, as the engine reads it.
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
        var store = provider.GetRequiredService<IReferralStore>();
        var order = NewOrder("o-1", "bea", Start) with { PresentedCode = code.Display };

        // The fraud check runs after the order was claimed and the code recorded; the request is cancelled there, so the
        // reward commit that follows throws.
        using (var cancel = new CancellationTokenSource())
        {
            failing.Cancel = cancel;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await attribution.RecordConversionAsync(order, cancel.Token));
        }
        Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
        Assert.Empty(await TouchesOfAsync(store, "bea"));
        Assert.Null(await attribution.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListOrderRewardsAsync(Program, "o-1", Ct));

        failing.Cancel = null;
        var decided = await attribution.RecordConversionAsync(order, Ct);
        Assert.True(decided.IsAttributed);
        Assert.Equal(2, await CountOrderEntriesAsync(store, "o-1"));
        Assert.Single(await TouchesOfAsync(store, "bea"));
    }

    [Fact]
    public async Task Concurrent_recorders_of_one_order_decide_it_once()
    {
        string path = _directory.NewDatabasePath();
        await using var provider = SqliteEngine.Build(path, new FakeClock(Start));
        var code = await IssueCodeAsync(provider, "ana");
        var attribution = provider.GetRequiredService<AttributionService>();
        var store = provider.GetRequiredService<IReferralStore>();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            await attribution.RecordConversionAsync(NewOrder("o-1", "bea", Start) with { PresentedCode = code.Display }, Ct), Ct)));

        Assert.All(results, r => Assert.Equal(results[0].DecidedAt, r.DecidedAt));
        Assert.Equal(2, await CountOrderEntriesAsync(store, "o-1"));
        // The referrer's account summary was written by one unit of work only.
        Assert.Equal(1, Assert.Single(await store.GetSummariesAsync(Program, new ParticipantId("ana"), [""], Ct)).Version);
    }

    [Fact]
    public async Task A_batch_decides_each_conversion_as_one_at_a_time_would()
    {
        var clock = new FakeClock(Start);
        await using var batched = SqliteEngine.Build(_directory.NewDatabasePath(), clock);
        await using var single = SqliteEngine.Build(_directory.NewDatabasePath(), clock);
        var orders = await StoryAsync(batched);
        var sameOrders = await StoryAsync(single);

        var fromBatch = await batched.GetRequiredService<AttributionService>().RecordConversionsAsync(orders, Ct);
        var oneByOne = new List<AttributionResult>();
        foreach (var order in sameOrders)
        {
            oneByOne.Add(await single.GetRequiredService<AttributionService>().RecordConversionAsync(order, Ct));
        }

        Assert.Equal(orders.Select(o => o.OrderId), fromBatch.Select(r => r.OrderId));
        Assert.Equal(await OutcomesAsync(single, oneByOne), await OutcomesAsync(batched, fromBatch));
        // The story itself: credited, a repeat purchase, the same order sent twice, a self-referral, another credit.
        Assert.Equal(
            [(null, "ana", false, 2), (null, "ana", true, 0), (null, "ana", false, 2),
             (NotAttributedReason.SelfReferral, null, false, 0), (null, "ben", false, 2)],
            await OutcomesAsync(batched, fromBatch));
    }

    [Fact]
    public async Task A_batch_that_fails_midway_records_none_of_it_and_records_whole_when_sent_again()
    {
        string path = _directory.NewDatabasePath();
        var failing = new CancellingCheck();
        await using var provider = SqliteEngine.Build(path, new FakeClock(Start), (services, _) => services.AddSingleton<IFraudCheck>(failing));
        var orders = await StoryAsync(provider);
        var attribution = provider.GetRequiredService<AttributionService>();
        var store = provider.GetRequiredService<IReferralStore>();

        // The second credited conversion's fraud check cancels the request.
        using (var cancel = new CancellationTokenSource())
        {
            failing.Cancel = cancel;
            failing.After = 1;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await attribution.RecordConversionsAsync(orders, cancel.Token));
        }
        foreach (var order in orders)
        {
            Assert.Null(await store.FindOrderAsync(Program, order.OrderId, Ct));
            Assert.Null(await attribution.FindAttributionAsync(Program, order.OrderId, Ct));
        }

        failing.Cancel = null;
        var decided = await attribution.RecordConversionsAsync(orders, Ct);
        Assert.All(decided, d => Assert.NotNull(d));
        Assert.Equal(2, await CountOrderEntriesAsync(store, "o-1"));
        Assert.Equal(2, await CountOrderEntriesAsync(store, "o-4"));
    }

    [Fact]
    public async Task A_batch_with_an_invalid_conversion_records_none_of_it()
    {
        await using var provider = SqliteEngine.Build(_directory.NewDatabasePath(), new FakeClock(Start));
        var orders = await StoryAsync(provider);
        var bad = orders.Append(NewOrder("o-9", "eve", Start) with { Amount = new Money(-1m, "EUR") }).ToList();

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await provider.GetRequiredService<AttributionService>().RecordConversionsAsync(bad, Ct));

        Assert.Null(await provider.GetRequiredService<IReferralStore>().FindOrderAsync(Program, "o-1", Ct));
    }

    /// <summary>Codes for ana and ben, and orders: bea with ana's code, bea again, the first order again, ana with her own code, cem with ben's.</summary>
    private static async Task<List<Conversion>> StoryAsync(ServiceProvider provider)
    {
        var ana = await IssueCodeAsync(provider, "ana");
        var ben = await IssueCodeAsync(provider, "ben");
        var first = NewOrder("o-1", "bea", Start) with { PresentedCode = ana.Display };
        return
        [
            first,
            NewOrder("o-2", "bea", Start + Duration.FromDays(1)),
            first,
            NewOrder("o-3", "ana", Start + Duration.FromDays(2)) with { PresentedCode = ana.Display },
            NewOrder("o-4", "cem", Start + Duration.FromDays(3)) with { PresentedCode = ben.Display },
        ];
    }

    private static async Task<List<(NotAttributedReason? Reason, string? Referrer, bool IsRepeat, int Rewards)>> OutcomesAsync(ServiceProvider provider, IEnumerable<AttributionResult> results)
    {
        var store = provider.GetRequiredService<IReferralStore>();
        var attribution = provider.GetRequiredService<AttributionService>();
        var outcomes = new List<(NotAttributedReason?, string?, bool, int)>();
        foreach (var r in results)
        {
            var stored = await attribution.FindAttributionAsync(Program, r.OrderId, Ct);
            Assert.NotNull(stored);
            Assert.Equal((r.Reason, r.Referrer, r.Code, r.TouchId, r.IsRepeat, r.DecidedAt), (stored.Reason, stored.Referrer, stored.Code, stored.TouchId, stored.IsRepeat, stored.DecidedAt));
            outcomes.Add((r.Reason, r.Referrer?.Value, r.IsRepeat, await CountOrderEntriesAsync(store, r.OrderId)));
        }
        return outcomes;
    }

    /// <summary>The ledger entries of an order: those of each of its rewards.</summary>
    private static async Task<int> CountOrderEntriesAsync(IReferralStoreReader store, string orderId)
    {
        int entries = 0;
        foreach (var reward in await store.ListOrderRewardsAsync(Program, orderId, Ct))
        {
            entries += (await store.ListEntriesAsync(Program, reward.RewardId, Ct)).Count;
        }
        return entries;
    }

    /// <summary>The touches of a customer in the program, whenever they happened.</summary>
    private static async Task<IReadOnlyList<Touch>> TouchesOfAsync(IReferralStoreReader store, string customer) =>
        await store.FindTouchesAsync(Program, new ParticipantId(customer), [], [], Instant.MinValue, Instant.MaxValue, 100, Ct);

    private static async Task<ReferralCodeRecord> IssueCodeAsync(ServiceProvider provider, string owner)
    {
        var codes = provider.GetRequiredService<ReferralCodeService>();
        await codes.InitializeAsync(Ct);
        return await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId(owner), Medium = ShareMedium.Email }, Ct);
    }

    private sealed class CommittedStateNotifier(IReferralStoreReader outside) : IReferralNotifier
    {
        public List<(string Kind, bool Committed)> Heard { get; } = [];

        public async ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) =>
            Heard.Add(("captured", await IsCommittedAsync(touch.OrderId!, cancellationToken)));

        public async ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) =>
            Heard.Add(("decided", await IsCommittedAsync(attribution.OrderId, cancellationToken)));

        public async ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) =>
            Heard.Add(("reward", await IsCommittedAsync(entry.OrderId, cancellationToken)));

        // The order row carries the attribution; the unit writes it with the rewards and their entries.
        private async ValueTask<bool> IsCommittedAsync(string orderId, CancellationToken ct) =>
            await outside.FindOrderAsync(Program, orderId, ct) is not null
            && await CountOrderEntriesAsync(outside, orderId) == 2;
    }

    private sealed class CancellingCheck : IFraudCheck
    {
        private int _calls;

        public CancellationTokenSource? Cancel { get; set; }

        /// <summary>How many assessments pass before the one that cancels.</summary>
        public int After { get; set; }

        public string Name => "cancelling";

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
        {
            if (Cancel is not null && Interlocked.Increment(ref _calls) > After)
            {
                Cancel.Cancel();
            }
            return ValueTask.CompletedTask;
        }
    }
}
