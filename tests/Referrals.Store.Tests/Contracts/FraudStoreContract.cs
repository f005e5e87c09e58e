using NodaTime;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>
/// What every <see cref="IFraudStore"/> must do. The fraud history is what the store's other interfaces wrote, so the
/// store under test implements <see cref="IParticipantStore"/>, <see cref="ITouchStore"/>, <see cref="IConversionStore"/>
/// and <see cref="IRewardStore"/> too, and the history is written through them.
/// </summary>
public abstract class FraudStoreContract
{
    /// <summary>A new, empty store implementing every store interface.</summary>
    protected abstract IFraudStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ParticipantId Ana = new("ana");
    private static readonly ParticipantId Bob = new("bob");
    private static readonly Duration Tick = Duration.FromTicks(1);
    private static readonly Duration Nanosecond = Duration.FromNanoseconds(1);

    [Fact]
    public async Task CountReferrals_counts_the_touches_naming_the_referrer_in_a_half_open_range()
    {
        var (fraud, s) = New();
        var t0 = Start;
        var t1 = Start + Duration.FromMinutes(10);
        var t2 = Start + Duration.FromHours(1);
        foreach (var (id, at) in new[] { ("a", t0), ("b", t1), ("c", t1), ("d", t2) })
        {
            Assert.True(await s.Touches.TryAddTouchAsync(NewTouch(id, at, referrer: "ana"), Ct));
        }
        // Not ana's, or not in the program; and a touch id seen before (refused) counts once.
        Assert.True(await s.Touches.TryAddTouchAsync(NewTouch("e", t1, referrer: "bob"), Ct));
        Assert.True(await s.Touches.TryAddTouchAsync(NewTouch("f", t1, OtherProgram, referrer: "ana"), Ct));
        Assert.False(await s.Touches.TryAddTouchAsync(NewTouch("b", t1, referrer: "ana"), Ct));

        Assert.Equal(3, await fraud.CountReferralsAsync(Program, Ana, t0, t2, Ct));
        Assert.Equal(4, await fraud.CountReferralsAsync(Program, Ana, t0, t2 + Tick, Ct));
        Assert.Equal(2, await fraud.CountReferralsAsync(Program, Ana, t0 + Tick, t2, Ct));
        Assert.Equal(2, await fraud.CountReferralsAsync(Program, Ana, t1, t1 + Tick, Ct));
        Assert.Equal(1, await fraud.CountReferralsAsync(Program, Ana, t0 - Duration.FromDays(1), t1, Ct));
        // Bounds between two ticks: a touch at t1 is after t1 - 1 ns and before t1 + 1 ns, not after t1 + 1 ns.
        Assert.Equal(2, await fraud.CountReferralsAsync(Program, Ana, t1 - Nanosecond, t1 + Nanosecond, Ct));
        Assert.Equal(0, await fraud.CountReferralsAsync(Program, Ana, t1 + Nanosecond, t2, Ct));
        Assert.Equal(3, await fraud.CountReferralsAsync(Program, Ana, t0, t1 + Nanosecond, Ct));
        // Empty and reversed ranges.
        Assert.Equal(0, await fraud.CountReferralsAsync(Program, Ana, t1, t1, Ct));
        Assert.Equal(0, await fraud.CountReferralsAsync(Program, Ana, t2, t0, Ct));
        Assert.Equal(1, await fraud.CountReferralsAsync(Program, Bob, t0, t2, Ct));
        Assert.Equal(1, await fraud.CountReferralsAsync(OtherProgram, Ana, t0, t2, Ct));
        Assert.Equal(0, await fraud.CountReferralsAsync(Program, new ParticipantId("nobody"), t0, t2, Ct));
    }

    [Fact]
    public async Task CountReferredConversions_counts_the_orders_credited_to_the_referrer_by_conversion_time()
    {
        var (fraud, s) = New();
        var t0 = Start;
        var t1 = Start + Duration.FromMinutes(10);
        var t2 = Start + Duration.FromHours(1);
        await DecideAsync(s, NewOrder("o-1", "c-1", t0), "ana");
        await DecideAsync(s, NewOrder("o-" + AstralText, "c-2", t1), "ana");
        await DecideAsync(s, NewOrder("o-" + HighBmpText, "c-3", t1), "ana");
        await DecideAsync(s, NewOrder("o-4", "c-4", t2), "ana");
        // Not credited: a repeat, a fraud block, a refusal, an order without a decision; and another program.
        await DecideAsync(s, NewOrder("o-5", "c-1", t1), "ana", isRepeat: true);
        await DecideAsync(s, NewOrder("o-6", "c-6", t1), "ana", NotAttributedReason.FraudBlocked);
        await DecideAsync(s, NewOrder("o-7", "c-7", t1), null, NotAttributedReason.NoTouch);
        Assert.True(await s.Conversions.TryAddConversionAsync(NewOrder("o-8", "c-8", t1), Ct));
        await DecideAsync(s, NewOrder("o-9", "c-9", t1, OtherProgram), "ana");

        Assert.Equal(3, await fraud.CountReferredConversionsAsync(Program, Ana, t0, t2, Ct));
        Assert.Equal(2, await fraud.CountReferredConversionsAsync(Program, Ana, t1, t2, Ct));
        Assert.Equal(2, await fraud.CountReferredConversionsAsync(Program, Ana, t1 - Nanosecond, t1 + Nanosecond, Ct));
        Assert.Equal(0, await fraud.CountReferredConversionsAsync(Program, Ana, t1 + Nanosecond, t2, Ct));
        Assert.Equal(4, await fraud.CountReferredConversionsAsync(Program, Ana, t0, t2 + Tick, Ct));
        Assert.Equal(0, await fraud.CountReferredConversionsAsync(Program, Ana, t2, t0, Ct));
        Assert.Equal(1, await fraud.CountReferredConversionsAsync(OtherProgram, Ana, t0, t2, Ct));

        // A re-evaluation moves o-4 to bob and takes o-1's credit away; o-6 is credited now; o-7 to ana later.
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-4", "c-4", t2), referrer: "bob"), Ct);
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-1", "c-1", t0), referrer: null, reason: NotAttributedReason.OutsideWindow), Ct);
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-6", "c-6", t1), referrer: "ana"), Ct);
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-7", "c-7", t1), referrer: "ana"), Ct);
        // The same decision saved again counts once.
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-7", "c-7", t1), referrer: "ana"), Ct);

        Assert.Equal(4, await fraud.CountReferredConversionsAsync(Program, Ana, t0, t2 + Tick, Ct));
        Assert.Equal(4, await fraud.CountReferredConversionsAsync(Program, Ana, t1, t1 + Tick, Ct));
        Assert.Equal(1, await fraud.CountReferredConversionsAsync(Program, Bob, t2, t2 + Tick, Ct));
        Assert.Equal(0, await fraud.CountReferredConversionsAsync(Program, Bob, t0, t2, Ct));
    }

    [Fact]
    public async Task Order_stats_count_the_credited_orders_and_those_refunded_in_full_or_charged_back()
    {
        var (fraud, s) = New();
        for (int i = 1; i <= 4; i++)
        {
            await DecideAsync(s, NewOrder($"o-{i}", $"c-{i}", Start + Duration.FromMinutes(i)), "ana"); // 50 EUR each
        }
        await DecideAsync(s, NewOrder("o-rep", "c-1", Start + Duration.FromHours(1)), "ana", isRepeat: true);
        Assert.Equal(new ReferredOrderStats(4, 0), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        Assert.Equal(default, await fraud.GetReferredOrderStatsAsync(Program, Bob, Ct));

        // Partial refunds count once they cover the order.
        await RefundAsync(s, NewRefundOf("o-1", "rf-1", 20m));
        Assert.Equal(new ReferredOrderStats(4, 0), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        await RefundAsync(s, NewRefundOf("o-1", "rf-2", 30m));
        Assert.Equal(new ReferredOrderStats(4, 1), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        await RefundAsync(s, NewRefundOf("o-1", "rf-3", 5m)); // more than the order: still one
        // A charge-back of any amount reverses the whole order.
        await RefundAsync(s, NewRefundOf("o-2", "cb-1", 0.01m, chargeback: true));
        // A refunded repeat order is not a credited order.
        await RefundAsync(s, NewRefundOf("o-rep", "rf-4", 50m));
        Assert.Equal(new ReferredOrderStats(4, 2), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        Assert.Equal(default, await fraud.GetReferredOrderStatsAsync(OtherProgram, Ana, Ct));

        // The credit moves: the refunded order goes with it.
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-1", "c-1", Start + Duration.FromMinutes(1)), referrer: "bob"), Ct);
        Assert.Equal(new ReferredOrderStats(3, 1), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        Assert.Equal(new ReferredOrderStats(1, 1), await fraud.GetReferredOrderStatsAsync(Program, Bob, Ct));
        // Credit taken away from a refunded order; a re-evaluation that keeps the credit changes nothing.
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-2", "c-2", Start + Duration.FromMinutes(2)), referrer: null, reason: NotAttributedReason.OutsideWindow), Ct);
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-3", "c-3", Start + Duration.FromMinutes(3)), referrer: "ana") with { DecidedAt = Start + Duration.FromDays(1) }, Ct);
        Assert.Equal(new ReferredOrderStats(2, 0), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));

        // An order refunded before anyone was credited with it counts as refunded for whoever is credited later.
        var late = NewOrder("o-late", "c-9", Start + Duration.FromHours(2));
        Assert.True(await s.Conversions.TryAddConversionAsync(late, Ct));
        await RefundAsync(s, NewRefundOf("o-late", "rf-late", 50m));
        await s.Conversions.SaveAttributionAsync(Decision(late, referrer: "ana"), Ct);
        Assert.Equal(new ReferredOrderStats(3, 1), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        // And the refunded o-2 given back to ana counts as refunded again.
        await s.Conversions.SaveAttributionAsync(Decision(NewOrder("o-2", "c-2", Start + Duration.FromMinutes(2)), referrer: "ana"), Ct);
        Assert.Equal(new ReferredOrderStats(4, 2), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
    }

    [Fact]
    public async Task A_refund_refused_by_the_reward_store_does_not_count()
    {
        var (fraud, s) = New();
        await DecideAsync(s, NewOrder("o-1", "c-1", Start), "ana");
        await RefundAsync(s, NewRefundOf("o-1", "rf-1", 10m));

        // The same refund id again (a duplicate), and a full refund in a commit that conflicts: neither is recorded.
        Assert.Equal(RewardCommitOutcome.Duplicate, await s.Rewards.TryCommitAsync(
            new RewardCommit { Program = Program, Accounts = [], Refund = NewRefundOf("o-1", "rf-1", 50m) }, Ct));
        Assert.Equal(RewardCommitOutcome.Conflict, await s.Rewards.TryCommitAsync(
            new RewardCommit { Program = Program, Accounts = [new AccountVersion(Ana, 5)], Refund = NewRefundOf("o-1", "rf-2", 50m) }, Ct));

        Assert.Equal(new ReferredOrderStats(1, 0), await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct));
        Assert.Equal(["rf-1"], (await s.Rewards.ListRefundsAsync(Program, "o-1", Ct)).Select(r => r.RefundId));
    }

    [Fact]
    public async Task Sightings_are_the_registrations_by_id_then_the_latest_conversions_before_the_time_up_to_the_limit()
    {
        var (fraud, s) = New();
        var t1 = Start;
        var t2 = Start + Duration.FromHours(1);
        var t3 = Start + Duration.FromHours(2);
        await s.Participants.UpsertParticipantAsync(new Participant { Id = new ParticipantId("zed"), Fingerprints = [Device(1), Card(1)] }, Ct);
        await s.Participants.UpsertParticipantAsync(new Participant { Id = new ParticipantId(HighBmpText), Fingerprints = [Device(1)] }, Ct);
        await s.Participants.UpsertParticipantAsync(new Participant { Id = new ParticipantId(AstralText), Fingerprints = [Device(1), Device(1)] }, Ct);
        // Registered with it, then updated without it.
        await s.Participants.UpsertParticipantAsync(new Participant { Id = new ParticipantId("amy"), Fingerprints = [Device(1)] }, Ct);
        await s.Participants.UpsertParticipantAsync(new Participant { Id = new ParticipantId("amy"), Fingerprints = [Device(2)] }, Ct);
        // Conversions: at t2 three orders whose ordinal order (b, astral, high BMP) SQLite's BINARY order would change.
        await AddOrderAsync("o-a", "c-1", t1, Device(1));
        await AddOrderAsync("o-b", "c-2", t2, Device(1), Card(1));
        await AddOrderAsync("o-" + AstralText, "c-3", t2, Device(1));
        await AddOrderAsync("o-" + HighBmpText, "c-4", t2, Device(1));
        await AddOrderAsync("o-c", "c-5", t3, Device(1));
        await AddOrderAsync("o-d", "c-6", t1, Device(2));
        Assert.True(await s.Conversions.TryAddConversionAsync(NewOrder("o-e", "c-7", t1, OtherProgram) with { Fingerprints = [Device(1)] }, Ct));

        // By id in ordinal (UTF-16) order: "zed", then the astral id (D83D DE00), then the high-BMP one (FF5E).
        FingerprintSighting[] registered =
        [
            new(new ParticipantId("zed"), null, null),
            new(new ParticipantId(AstralText), null, null),
            new(new ParticipantId(HighBmpText), null, null),
        ];
        // Before t3, latest first, ties by order id (ordinal) descending.
        FingerprintSighting[] seen =
        [
            new(new ParticipantId("c-4"), t2, "o-" + HighBmpText),
            new(new ParticipantId("c-3"), t2, "o-" + AstralText),
            new(new ParticipantId("c-2"), t2, "o-b"),
            new(new ParticipantId("c-1"), t1, "o-a"),
        ];
        Assert.Equal([.. registered, .. seen], await fraud.FindSightingsAsync(Program, Device(1), t3, 10, Ct));
        // The limit cuts inside the instant t2, by the same order.
        Assert.Equal([.. registered, .. seen[..1]], await fraud.FindSightingsAsync(Program, Device(1), t3, 1, Ct));
        Assert.Equal([.. registered, .. seen[..2]], await fraud.FindSightingsAsync(Program, Device(1), t3, 2, Ct));
        Assert.Equal([.. registered, .. seen[..3]], await fraud.FindSightingsAsync(Program, Device(1), t3, 3, Ct));
        // No conversions with a limit of 0 (or less); registrations always.
        Assert.Equal(registered, await fraud.FindSightingsAsync(Program, Device(1), t3, 0, Ct));
        Assert.Equal(registered, await fraud.FindSightingsAsync(Program, Device(1), t3, -1, Ct));
        // Strictly before the time, to the nanosecond.
        Assert.Equal([.. registered, seen[3]], await fraud.FindSightingsAsync(Program, Device(1), t2, 10, Ct));
        Assert.Equal([.. registered, .. seen], await fraud.FindSightingsAsync(Program, Device(1), t2 + Nanosecond, 10, Ct));
        Assert.Equal([.. registered, new FingerprintSighting(new ParticipantId("c-5"), t3, "o-c"), .. seen], await fraud.FindSightingsAsync(Program, Device(1), t3 + Tick, 10, Ct));
        // Registrations are not per program; conversions are.
        Assert.Equal([.. registered, new FingerprintSighting(new ParticipantId("c-7"), t1, "o-e")], await fraud.FindSightingsAsync(OtherProgram, Device(1), t3, 10, Ct));
        Assert.Equal([new FingerprintSighting(new ParticipantId("amy"), null, null), new FingerprintSighting(new ParticipantId("c-6"), t1, "o-d")], await fraud.FindSightingsAsync(Program, Device(2), t3, 10, Ct));
        Assert.Equal([new FingerprintSighting(new ParticipantId("zed"), null, null), new FingerprintSighting(new ParticipantId("c-2"), t2, "o-b")], await fraud.FindSightingsAsync(Program, Card(1), t3, 10, Ct));
        Assert.Empty(await fraud.FindSightingsAsync(Program, Device(9), t3, 10, Ct));

        async Task AddOrderAsync(string orderId, string customer, Instant at, params Privacy.Fingerprint[] fingerprints) =>
            Assert.True(await s.Conversions.TryAddConversionAsync(NewOrder(orderId, customer, at) with { Fingerprints = fingerprints }, Ct));
    }

    /// <summary>The store under test, and the same store through the interfaces that write the history.</summary>
    private (IFraudStore Fraud, Writers Writers) New()
    {
        var store = CreateStore();
        return (store, new Writers((IParticipantStore)store, (ITouchStore)store, (IConversionStore)store, (IRewardStore)store));
    }

    private static async Task DecideAsync(Writers s, Conversion order, string? referrer, NotAttributedReason reason = NotAttributedReason.None, bool isRepeat = false)
    {
        Assert.True(await s.Conversions.TryAddConversionAsync(order, Ct));
        await s.Conversions.SaveAttributionAsync(Decision(order, referrer: referrer, reason: reason, isRepeat: isRepeat), Ct);
    }

    private static Refund NewRefundOf(string orderId, string refundId, decimal amount, bool chargeback = false) =>
        RewardStoreContract.NewRefund(orderId, refundId, amount, Start + Duration.FromDays(1), chargeback);

    private static async Task RefundAsync(Writers s, Refund refund) =>
        Assert.Equal(
            RewardCommitOutcome.Committed,
            await s.Rewards.TryCommitAsync(new RewardCommit { Program = refund.Program, Accounts = [], Refund = refund }, Ct));

    private sealed record Writers(IParticipantStore Participants, ITouchStore Touches, IConversionStore Conversions, IRewardStore Rewards);
}
