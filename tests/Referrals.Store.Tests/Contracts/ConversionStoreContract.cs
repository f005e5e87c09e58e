using System.Collections.Concurrent;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>What every <see cref="IConversionStore"/> must do; a store's test class derives from this.</summary>
public abstract class ConversionStoreContract
{
    /// <summary>A new, empty store.</summary>
    protected abstract IConversionStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ParticipantId Jane = new("jane");

    // One instance each, so that records compared with these in place of their lists are equal.
    private static readonly IReadOnlyList<Privacy.ContactHash> NoContacts = new List<Privacy.ContactHash>();
    private static readonly IReadOnlyList<Privacy.Fingerprint> NoFingerprints = new List<Privacy.Fingerprint>();
    private static readonly IReadOnlyList<ParticipantId> NoChain = new List<ParticipantId>();
    private static readonly IReadOnlyList<ConsideredTouch> NoTouches = new List<ConsideredTouch>();
    private static readonly IReadOnlyList<FraudSignal> NoSignals = new List<FraudSignal>();

    /// <summary>An order with every field set.</summary>
    public static Conversion FullOrder(string orderId = "o-1") => new()
    {
        Program = Program,
        OrderId = orderId,
        Customer = Jane,
        Amount = new Money(12.50m, "eur"),
        EventTime = Start + Duration.FromTicks(123_456_789),
        Channel = Channel.Offline,
        StoreId = "store-7",
        VisitorId = "v-1",
        Contacts = [Phone(2), Email(1), Email(3)],
        IsNewCustomer = false,
        PresentedCode = " ana-2026 ",
        RegisterId = "till-3",
        Fingerprints = [Card(3), Device(1)],
    };

    /// <summary>A decision with every field set, a fraud assessment with signals included.</summary>
    public static AttributionResult FullDecision(Conversion order) => new()
    {
        Program = order.Program,
        OrderId = order.OrderId,
        Customer = order.Customer,
        Amount = order.Amount,
        ConversionTime = order.EventTime,
        ConversionChannel = Channel.Offline,
        StoreId = "store-7",
        Reason = NotAttributedReason.None,
        Referrer = new ParticipantId("ana"),
        Code = Code("ANA-2026"),
        Medium = ShareMedium.Receipt,
        CaptureMethod = TouchKind.PosCodeScan,
        TouchId = "order:" + order.OrderId,
        Combination = ChannelCombination.OfflineToOffline,
        Chain = [new ParticipantId("ana"), new ParticipantId("zoe"), new ParticipantId(AstralText)],
        IsRepeat = false,
        Touches =
        [
            new ConsideredTouch("click-9", TouchKind.LinkClick, new ParticipantId("bob"), order.EventTime - Duration.FromDays(1), TouchVerdict.Outranked),
            new ConsideredTouch("order:" + order.OrderId, TouchKind.PosCodeScan, new ParticipantId("ana"), order.EventTime, TouchVerdict.Chosen),
        ],
        DecidedAt = order.EventTime + Duration.FromTicks(7),
        Fraud = new FraudAssessment
        {
            Verdict = FraudVerdict.Review,
            Score = 75,
            ReviewAt = 40,
            BlockAt = 100,
            AssessedAt = order.EventTime + Duration.FromTicks(5),
            Signals =
            [
                new FraudSignal(FraudSignalNames.SelfReferralDevice, 60, "device d:AbCd… is the referrer's \"ana\" (quotes, ü, \U0001F600)"),
                new FraudSignal(FraudSignalNames.SelfReferralIpAndUserAgent, 15, "IP and user agent shared"),
            ],
        },
    };

    [Fact]
    public async Task TryAdd_then_Find_returns_every_field_with_lists_in_order()
    {
        var store = CreateStore();
        var full = FullOrder();
        var bare = NewOrder("o-2", "john", Start);

        Assert.True(await store.TryAddConversionAsync(full, Ct));
        Assert.True(await store.TryAddConversionAsync(bare, Ct));
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-3", "john", Start) with { IsNewCustomer = true }, Ct));

        AssertSame(full, await store.FindConversionAsync(Program, "o-1", Ct));
        AssertSame(bare, await store.FindConversionAsync(Program, "o-2", Ct));
        Assert.True((await store.FindConversionAsync(Program, "o-3", Ct))!.IsNewCustomer);
        Assert.Null(await store.FindConversionAsync(Program, "o-404", Ct));
        Assert.Null(await store.FindConversionAsync(OtherProgram, "o-1", Ct));
    }

    [Fact]
    public async Task The_same_order_is_stored_once_per_program_and_the_first_record_is_kept()
    {
        var store = CreateStore();
        var first = FullOrder();

        Assert.True(await store.TryAddConversionAsync(first, Ct));
        Assert.False(await store.TryAddConversionAsync(first, Ct));
        // Another content under the same order id: refused, nothing changed (no contact or fingerprint added either).
        Assert.False(await store.TryAddConversionAsync(
            NewOrder("o-1", "john", Start + Duration.FromDays(1)) with { Contacts = [Email(9)], Fingerprints = [Device(9)] },
            Ct));
        // The same order id in another program is another order.
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-1", "john", Start, OtherProgram), Ct));

        AssertSame(first, await store.FindConversionAsync(Program, "o-1", Ct));
        Assert.Equal(["o-1"], (await store.ListAllConversionsAsync(Program, Ct)).Select(c => c.OrderId));
        Assert.Empty(await store.ListConversionsAsync(Program, new ParticipantId("john"), Ct));
        Assert.Equal("john", (await store.FindConversionAsync(OtherProgram, "o-1", Ct))!.Customer.Value);
    }

    [Fact]
    public async Task Lists_are_ordered_by_event_time_then_order_id_in_ordinal_order()
    {
        var store = CreateStore();
        var later = Start + Duration.FromHours(1);
        // At one instant, ordinal (UTF-16) order is "a", "b", astral, high BMP; SQLite's BINARY order would swap the last two.
        foreach (var id in new[] { HighBmpText, "b", AstralText, "a" })
        {
            Assert.True(await store.TryAddConversionAsync(NewOrder(id, "jane", later) with { Contacts = [Email(id.Length)] }, Ct));
        }
        Assert.True(await store.TryAddConversionAsync(NewOrder("z-first", "jane", Start), Ct));
        Assert.True(await store.TryAddConversionAsync(NewOrder("0-last", "jane", later + Duration.FromTicks(1)), Ct));
        Assert.True(await store.TryAddConversionAsync(NewOrder("john-1", "john", later), Ct));
        Assert.True(await store.TryAddConversionAsync(NewOrder("other-program", "jane", Start, OtherProgram), Ct));

        string[] janes = ["z-first", "a", "b", AstralText, HighBmpText, "0-last"];
        var listed = await store.ListConversionsAsync(Program, Jane, Ct);
        Assert.Equal(janes, listed.Select(c => c.OrderId));
        Assert.All(listed.Take(5).Skip(1), c => Assert.Equal([Email(c.OrderId.Length)], c.Contacts));
        Assert.Equal(["z-first", "a", "b", "john-1", AstralText, HighBmpText, "0-last"], (await store.ListAllConversionsAsync(Program, Ct)).Select(c => c.OrderId));
        Assert.Equal(["other-program"], (await store.ListAllConversionsAsync(OtherProgram, Ct)).Select(c => c.OrderId));
        Assert.Empty(await store.ListConversionsAsync(Program, new ParticipantId("nobody"), Ct));
        Assert.Empty(await store.ListAllConversionsAsync(new ProgramId("empty"), Ct));
    }

    [Fact]
    public async Task SaveAttribution_then_Find_returns_every_field_with_touches_and_fraud_signals()
    {
        var store = CreateStore();
        var order = FullOrder();
        Assert.True(await store.TryAddConversionAsync(order, Ct));
        var full = FullDecision(order);
        var bare = Decision(NewOrder("o-2", "john", Start), referrer: null, reason: NotAttributedReason.NoTouch);
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-2", "john", Start), Ct));

        await store.SaveAttributionAsync(full, Ct);
        await store.SaveAttributionAsync(bare, Ct);

        AssertSame(full, await store.FindAttributionAsync(Program, "o-1", Ct));
        AssertSame(bare, await store.FindAttributionAsync(Program, "o-2", Ct));
        Assert.Null(await store.FindAttributionAsync(Program, "o-404", Ct));
        Assert.Null(await store.FindAttributionAsync(OtherProgram, "o-1", Ct));
    }

    [Fact]
    public async Task SaveAttribution_replaces_the_decision_of_the_order()
    {
        var store = CreateStore();
        var order = NewOrder("o-1", "jane", Start);
        Assert.True(await store.TryAddConversionAsync(order, Ct));
        var x = Code("XCODE1");
        var y = Code("YCODE2");

        await store.SaveAttributionAsync(Decision(order, x, "ana"), Ct);
        var refused = Decision(order, null, null, NotAttributedReason.CodeUsedUp);
        await store.SaveAttributionAsync(refused, Ct);

        AssertSame(refused, await store.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Null(await store.FindFirstAttributionAsync(Program, Jane, Ct));
        Assert.Equal(0, await store.CountCodeUsesBeforeAsync(x, Start + Duration.FromDays(1), "z", Ct));

        var credited = FullDecision(order) with { Code = y, Referrer = new ParticipantId("bob"), Fraud = null };
        await store.SaveAttributionAsync(credited, Ct);

        AssertSame(credited, await store.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Equal("bob", (await store.FindFirstAttributionAsync(Program, Jane, Ct))!.Referrer!.Value.Value);
        Assert.Equal(0, await store.CountCodeUsesBeforeAsync(x, Start + Duration.FromDays(1), "z", Ct));
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(y, Start + Duration.FromDays(1), "z", Ct));
        // Saving the same decision again changes nothing.
        await store.SaveAttributionAsync(credited, Ct);
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(y, Start + Duration.FromDays(1), "z", Ct));
    }

    [Fact]
    public async Task SaveAttribution_of_an_order_never_recorded_throws_and_writes_nothing()
    {
        var store = CreateStore();
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-1", "jane", Start, OtherProgram), Ct));
        var ghost = Decision(NewOrder("o-1", "jane", Start), Code("XCODE1"));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.SaveAttributionAsync(ghost, Ct));

        Assert.Contains("'o-1'", e.Message, StringComparison.Ordinal);
        Assert.Null(await store.FindAttributionAsync(Program, "o-1", Ct));
        Assert.Null(await store.FindAttributionAsync(OtherProgram, "o-1", Ct));
        Assert.Null(await store.FindFirstAttributionAsync(Program, Jane, Ct));
        Assert.Equal(0, await store.CountCodeUsesBeforeAsync(Code("XCODE1"), Start + Duration.FromDays(1), "z", Ct));
    }

    [Fact]
    public async Task FindFirstAttribution_is_the_customers_earliest_credited_conversion_ties_broken_ordinally()
    {
        var store = CreateStore();
        var t0 = Start;
        var t1 = Start + Duration.FromHours(1);
        var t2 = Start + Duration.FromHours(2);
        // Earlier, but not credited: refused, a repeat, and recorded without a decision.
        await AddDecidedAsync(store, NewOrder("o-early-refused", "jane", t0), o => Decision(o, referrer: null, reason: NotAttributedReason.NoTouch));
        await AddDecidedAsync(store, NewOrder("o-early-repeat", "jane", t0), o => Decision(o, referrer: "rep", isRepeat: true));
        await AddDecidedAsync(store, NewOrder("o-early-blocked", "jane", t0), o => Decision(o, referrer: "blk", reason: NotAttributedReason.FraudBlocked));
        Assert.True(await store.TryAddConversionAsync(NewOrder("o-early-undecided", "jane", t0), Ct));
        // Credited, all at t1: ordinal order puts the astral id first, SQLite's BINARY order the high-BMP one.
        await AddDecidedAsync(store, NewOrder("o-" + HighBmpText, "jane", t1), o => Decision(o, referrer: "high-bmp"));
        await AddDecidedAsync(store, NewOrder("o-" + AstralText, "jane", t1), o => Decision(o, referrer: "astral"));
        await AddDecidedAsync(store, NewOrder("o-later", "jane", t2), o => Decision(o, referrer: "later"));
        // Other customers and programs.
        await AddDecidedAsync(store, NewOrder("o-john", "john", t0), o => Decision(o, referrer: "john-ref"));
        await AddDecidedAsync(store, NewOrder("o-other", "jane", t0, OtherProgram), o => Decision(o, referrer: "other-ref"));

        Assert.Equal("astral", (await store.FindFirstAttributionAsync(Program, Jane, Ct))!.Referrer!.Value.Value);
        Assert.Equal("other-ref", (await store.FindFirstAttributionAsync(OtherProgram, Jane, Ct))!.Referrer!.Value.Value);
        Assert.Equal("john-ref", (await store.FindFirstAttributionAsync(Program, new ParticipantId("john"), Ct))!.Referrer!.Value.Value);
        Assert.Null(await store.FindFirstAttributionAsync(Program, new ParticipantId("nobody"), Ct));

        // A re-evaluation takes the first one's credit away: the next in order is the first now.
        await store.SaveAttributionAsync(Decision(NewOrder("o-" + AstralText, "jane", t1), referrer: null, reason: NotAttributedReason.OutsideWindow), Ct);
        Assert.Equal("high-bmp", (await store.FindFirstAttributionAsync(Program, Jane, Ct))!.Referrer!.Value.Value);
        // And one of the earlier ones is credited now.
        await store.SaveAttributionAsync(Decision(NewOrder("o-early-undecided", "jane", t0), referrer: "undecided"), Ct);
        Assert.Equal("undecided", (await store.FindFirstAttributionAsync(Program, Jane, Ct))!.Referrer!.Value.Value);
    }

    [Fact]
    public async Task CountCodeUsesBefore_counts_credited_uses_of_the_code_strictly_before_the_time_and_order()
    {
        var store = CreateStore();
        var x = Code("XCODE1");
        var t1 = Start + Duration.FromHours(1);
        var t2 = Start + Duration.FromHours(2);
        var t3 = Start + Duration.FromHours(3);
        // Credited uses of X: (t1, a), (t2, b), (t2, astral), (t2, high BMP), (t3, c); the last in another program.
        await AddDecidedAsync(store, NewOrder("a", "c-1", t1), o => Decision(o, x));
        await AddDecidedAsync(store, NewOrder("b", "c-2", t2), o => Decision(o, x));
        await AddDecidedAsync(store, NewOrder(AstralText, "c-3", t2), o => Decision(o, x));
        await AddDecidedAsync(store, NewOrder(HighBmpText, "c-4", t2), o => Decision(o, x));
        await AddDecidedAsync(store, NewOrder("c", "c-5", t3, OtherProgram), o => Decision(o, x));
        // Not uses: a repeat, a refusal carrying the code, a fraud block, another code.
        await AddDecidedAsync(store, NewOrder("r", "c-1", t1), o => Decision(o, x, isRepeat: true));
        await AddDecidedAsync(store, NewOrder("u", "c-6", t1), o => Decision(o, x, reason: NotAttributedReason.CodeUsedUp));
        await AddDecidedAsync(store, NewOrder("f", "c-7", t1), o => Decision(o, x, reason: NotAttributedReason.FraudBlocked));
        await AddDecidedAsync(store, NewOrder("y", "c-8", t1), o => Decision(o, Code("YCODE2")));

        Assert.Equal(0, await store.CountCodeUsesBeforeAsync(x, t1, "a", Ct));
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(x, t1, "a0", Ct));
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(x, t2, "b", Ct));
        // Ordinal: "b" < astral < high BMP.
        Assert.Equal(2, await store.CountCodeUsesBeforeAsync(x, t2, AstralText, Ct));
        Assert.Equal(3, await store.CountCodeUsesBeforeAsync(x, t2, HighBmpText, Ct));
        Assert.Equal(4, await store.CountCodeUsesBeforeAsync(x, t2 + Duration.FromTicks(1), "", Ct));
        Assert.Equal(4, await store.CountCodeUsesBeforeAsync(x, t3, "c", Ct));
        Assert.Equal(5, await store.CountCodeUsesBeforeAsync(x, t3, "d", Ct));
        Assert.Equal(1, await store.CountCodeUsesBeforeAsync(Code("YCODE2"), t3, "z", Ct));
        Assert.Equal(0, await store.CountCodeUsesBeforeAsync(Code("NOSUCH1"), t3, "z", Ct));
    }

    [Fact]
    public async Task Concurrent_recording_with_duplicate_order_ids_stores_each_order_once()
    {
        var store = CreateStore();
        const int Tasks = 8, PerTask = 200, Stride = 100;
        var x = Code("XCODE1");
        // Task t records orders [100t, 100t + 200): each overlaps its neighbours by 100, 900 distinct in all. Every task then
        // decides each of its orders (a replacement where a neighbour decided it too).
        var winners = new ConcurrentDictionary<string, ConcurrentBag<int>>(StringComparer.Ordinal);
        using var start = new Barrier(Tasks);
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            for (int n = t * Stride; n < t * Stride + PerTask; n++)
            {
                var order = NewOrder($"o-{n:D4}", $"task-{t}", Start + Duration.FromSeconds(n % 37)) with { Contacts = [Email(t)] };
                if (await store.TryAddConversionAsync(order, Ct))
                {
                    winners.GetOrAdd(order.OrderId, _ => []).Add(t);
                }
                var stored = await store.FindConversionAsync(Program, order.OrderId, Ct);
                await store.SaveAttributionAsync(Decision(stored!, x, referrer: $"ref-{t}"), Ct);
            }
        }, Ct)));

        const int Distinct = (Tasks - 1) * Stride + PerTask;
        Assert.Equal(Distinct, winners.Count);
        Assert.All(winners, w => Assert.Single(w.Value));
        var all = await store.ListAllConversionsAsync(Program, Ct);
        Assert.Equal(Distinct, all.Count);
        Assert.Equal(Distinct, all.Select(c => c.OrderId).Distinct(StringComparer.Ordinal).Count());
        // The stored record is the one whose insert reported success, with its own contact list, not doubled.
        Assert.All(all, c => Assert.Equal($"task-{winners[c.OrderId].Single()}", c.Customer.Value));
        Assert.All(all, c => Assert.Equal([Email(winners[c.OrderId].Single())], c.Contacts));
        for (int t = 0; t < Tasks; t++)
        {
            Assert.Equal(winners.Count(w => w.Value.Single() == t), (await store.ListConversionsAsync(Program, new ParticipantId($"task-{t}"), Ct)).Count);
        }
        // Each order is one use of the code, however often it was decided.
        Assert.Equal(Distinct, await store.CountCodeUsesBeforeAsync(x, Start + Duration.FromDays(1), "", Ct));
        foreach (var c in all)
        {
            var decided = await store.FindAttributionAsync(Program, c.OrderId, Ct);
            Assert.NotNull(decided);
            Assert.Equal(c.Customer, decided.Customer);
        }
    }

    private static async Task AddDecidedAsync(IConversionStore store, Conversion order, Func<Conversion, AttributionResult> decide)
    {
        Assert.True(await store.TryAddConversionAsync(order, Ct));
        await store.SaveAttributionAsync(decide(order), Ct);
    }

    /// <summary>Every property, lists by their elements (records compare list properties by reference).</summary>
    public static void AssertSame(Conversion expected, Conversion? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Contacts = NoContacts, Fingerprints = NoFingerprints }, actual with { Contacts = NoContacts, Fingerprints = NoFingerprints });
        Assert.Equal(expected.Contacts, actual.Contacts);
        Assert.Equal(expected.Fingerprints, actual.Fingerprints);
    }

    /// <summary>Every property, lists by their elements, and the explanation a support agent reads.</summary>
    public static void AssertSame(AttributionResult expected, AttributionResult? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(
            expected with { Chain = NoChain, Touches = NoTouches, Fraud = null },
            actual with { Chain = NoChain, Touches = NoTouches, Fraud = null });
        Assert.Equal(expected.Chain, actual.Chain);
        Assert.Equal(expected.Touches, actual.Touches);
        if (expected.Fraud is null)
        {
            Assert.Null(actual.Fraud);
        }
        else
        {
            Assert.NotNull(actual.Fraud);
            Assert.Equal(expected.Fraud with { Signals = NoSignals }, actual.Fraud with { Signals = NoSignals });
            Assert.Equal(expected.Fraud.Signals, actual.Fraud.Signals);
        }
        Assert.Equal(expected.Explain(), actual.Explain());
    }
}
