using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>
/// What a store that keeps both attributions and rewards must do with one conversion's unit of work: the attribution,
/// its ledger entries, its reward decision and its pending notifications are written together or not at all, and the
/// notifications stay pending until acknowledged (the outbox itself: <see cref="NotificationOutboxContract"/>).
/// </summary>
public abstract class UnitOfWorkContract
{
    /// <summary>A new, empty store implementing both interfaces.</summary>
    protected abstract (IConversionStore Conversions, IRewardStore Rewards) CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ParticipantId Ana = new("ref-1");

    private static RewardEntry Earned(string orderId, string rule = "credit", decimal amount = 10m) => new()
    {
        EntryId = $"{orderId}#1:{rule}:earned",
        RewardId = $"{orderId}#1:{rule}",
        Program = Program,
        Beneficiary = Ana,
        OrderId = orderId,
        Type = RewardEntryType.Earned,
        Amount = new Money(amount, "EUR"),
        RecordedAt = Start + Duration.FromMinutes(1),
        Terms = new RewardTerms
        {
            Role = RewardRole.Referrer,
            Level = 1,
            Kind = RewardKind.AccountCredit,
            Rule = rule,
            Tier = "all",
            ReferralNumber = 1,
            PercentOfOrder = false,
            OrderAmount = new Money(50m, "EUR"),
            BeforeCap = new Money(amount, "EUR"),
            ConversionTime = Start,
            HoldUntil = Start + Duration.FromDays(14),
        },
    };

    private static RewardDecision DecisionOf(string orderId) => new()
    {
        Program = Program,
        OrderId = orderId,
        Revision = 1,
        Referrer = Ana,
        Chain = [Ana],
        ReferralNumber = 1,
        Counted = true,
        RewardIds = [$"{orderId}#1:credit"],
        DecidedAt = Start + Duration.FromMinutes(1),
    };

    private static PendingNotification Pending(string id, NotificationKind kind, string orderId, Instant at, string? entryId = null, string? rewardId = null) => new()
    {
        Id = id,
        Kind = kind,
        Program = Program,
        OrderId = orderId,
        EntryId = entryId,
        RewardId = rewardId,
        RecordedAt = at,
        DueAt = at + Duration.FromMinutes(1),
    };

    private static RewardCommit ConversionCommit(Conversion order, AttributionResult attribution, params PendingNotification[] notifications)
    {
        var earned = Earned(order.OrderId);
        return new RewardCommit
        {
            Program = Program,
            Accounts = [new AccountVersion(Ana, 0)],
            Entries = [earned],
            Decision = DecisionOf(order.OrderId),
            Attribution = attribution,
            Notifications = notifications,
        };
    }

    [Fact]
    public async Task A_commit_writes_the_attribution_the_rewards_the_decision_and_the_notifications_together()
    {
        var (conversions, rewards) = CreateStore();
        var order = NewOrder("o-1", "bea", Start);
        Assert.True(await conversions.TryAddConversionAsync(order, Ct));
        var attribution = Decision(order);
        var at = Start + Duration.FromMinutes(1);
        var commit = ConversionCommit(order, attribution,
            Pending("n-1", NotificationKind.RewardChanged, "o-1", at, "o-1#1:credit:earned", "o-1#1:credit"),
            Pending("n-2", NotificationKind.ConversionDecided, "o-1", at));

        Assert.Equal(RewardCommitOutcome.Committed, await rewards.TryCommitAsync(commit, Ct));

        ConversionStoreContract.AssertSame(attribution, await conversions.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Equal(DecisionOf("o-1"), await rewards.FindDecisionAsync(Program, "o-1", Ct), DecisionComparer.Instance);
        Assert.Equal(["o-1#1:credit:earned"], (await rewards.ListOrderEntriesAsync(Program, "o-1", Ct)).Select(e => e.EntryId));
        var pending = await rewards.ListDueNotificationsAsync(at + Duration.FromMinutes(1), 10, Ct);
        Assert.Equal([commit.Notifications[0], commit.Notifications[1]], pending);
    }

    [Fact]
    public async Task A_refused_commit_writes_no_part_of_the_unit_of_work()
    {
        var (conversions, rewards) = CreateStore();
        var first = NewOrder("o-1", "bea", Start);
        var second = NewOrder("o-2", "cem", Start + Duration.FromHours(1));
        Assert.True(await conversions.TryAddConversionAsync(first, Ct));
        Assert.True(await conversions.TryAddConversionAsync(second, Ct));
        var at = Start + Duration.FromMinutes(1);
        Assert.Equal(RewardCommitOutcome.Committed, await rewards.TryCommitAsync(
            ConversionCommit(first, Decision(first), Pending("n-1", NotificationKind.ConversionDecided, "o-1", at)), Ct));

        // A stale account version: nothing of the second conversion is written, its attribution included.
        var stale = ConversionCommit(second, Decision(second), Pending("n-2", NotificationKind.ConversionDecided, "o-2", at));
        Assert.Equal(RewardCommitOutcome.Conflict, await rewards.TryCommitAsync(stale, Ct));
        // A notification id that is pending already: a duplicate, nothing written either.
        var duplicate = ConversionCommit(second, Decision(second), Pending("n-1", NotificationKind.ConversionDecided, "o-2", at)) with
        {
            Accounts = [new AccountVersion(Ana, 1)],
        };
        Assert.Equal(RewardCommitOutcome.Duplicate, await rewards.TryCommitAsync(duplicate, Ct));

        Assert.Null(await conversions.FindAttributionAsync(Program, "o-2", Ct));
        Assert.Null(await rewards.FindDecisionAsync(Program, "o-2", Ct));
        Assert.Empty(await rewards.ListOrderEntriesAsync(Program, "o-2", Ct));
        Assert.Equal(["n-1"], (await rewards.ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct)).Select(n => n.Id));
        Assert.Equal(1, (await rewards.LoadAccountAsync(Program, Ana, Ct)).Version);
    }

    [Fact]
    public async Task An_attribution_of_an_order_never_recorded_is_refused_and_nothing_is_written()
    {
        var (conversions, rewards) = CreateStore();
        var ghost = NewOrder("o-ghost", "bea", Start);

        var commit = ConversionCommit(ghost, Decision(ghost), Pending("n-1", NotificationKind.ConversionDecided, "o-ghost", Start));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await rewards.TryCommitAsync(commit, Ct));

        Assert.Null(await conversions.FindAttributionAsync(Program, "o-ghost", Ct));
        Assert.Empty(await rewards.ListOrderEntriesAsync(Program, "o-ghost", Ct));
        Assert.Empty(await rewards.ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct));
        Assert.Equal(0, (await rewards.LoadAccountAsync(Program, Ana, Ct)).Version);
    }

    [Fact]
    public async Task A_commit_with_only_an_attribution_replaces_the_decision_of_its_order()
    {
        var (conversions, rewards) = CreateStore();
        var order = NewOrder("o-1", "bea", Start);
        Assert.True(await conversions.TryAddConversionAsync(order, Ct));
        await conversions.SaveAttributionAsync(Decision(order, reason: NotAttributedReason.NoTouch, referrer: null), Ct);

        var later = Decision(order) with { DecidedAt = Start + Duration.FromDays(1) };
        Assert.Equal(RewardCommitOutcome.Committed, await rewards.TryCommitAsync(new RewardCommit { Program = Program, Accounts = [], Attribution = later }, Ct));

        ConversionStoreContract.AssertSame(later, await conversions.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Equal("o-1", (await conversions.FindFirstAttributionAsync(Program, new ParticipantId("bea"), Ct))?.OrderId);
    }

    /// <summary>Decisions compared by value, lists by their elements.</summary>
    private sealed class DecisionComparer : IEqualityComparer<RewardDecision?>
    {
        public static readonly DecisionComparer Instance = new();

        public bool Equals(RewardDecision? x, RewardDecision? y) =>
            x is null ? y is null
            : y is not null && x with { Chain = [], RewardIds = [], Skipped = [] } == y with { Chain = [], RewardIds = [], Skipped = [] }
                && x.Chain.SequenceEqual(y.Chain) && x.RewardIds.SequenceEqual(y.RewardIds) && x.Skipped.SequenceEqual(y.Skipped);

        public int GetHashCode(RewardDecision? obj) => obj?.OrderId.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}
