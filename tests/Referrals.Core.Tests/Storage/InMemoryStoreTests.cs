using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary>
/// <see cref="InMemoryStore"/> beyond the contract suite: a unit costs the same whatever the store holds (issue 17),
/// and its pending rows, journals and chunked indexes give exactly the committed state to outside readers and the
/// session's own state to the session, through stopped units, rollbacks and commits, with lists long enough to split.
/// </summary>
public sealed class InMemoryStoreTests
{
    private static readonly ProgramId Program = new("memstore");
    private static readonly ParticipantId[] Referrers = [new("ana"), new("bob")];
    private static readonly Instant T0 = Instant.FromUtc(2026, 11, 2, 9, 0);
    private const string Doc = """{"v":1}""";

    [Fact]
    public async Task A_conversion_shaped_unit_allocates_the_same_with_a_long_history_as_with_a_short_one()
    {
        // Ids of one width everywhere, so that only the store's own work can differ between the two stores.
        long small = await MedianBytesPerSessionAsync(history: 10);
        long large = await MedianBytesPerSessionAsync(history: 20_000);

        // The copy-on-write store copied O(log n) tree nodes per index for every row: about 1.5 KB more per unit at
        // 20,000 orders. Mutable indexes allocate nothing that depends on the history; the 1% covers a list's growth.
        Assert.InRange(large, small - small / 100, small + small / 100);
    }

    [Fact]
    public async Task Counting_a_window_goes_by_rank_whatever_the_window_holds()
    {
        // An influencer's day: 20,000 credited orders, every one using her code. The fraud checks count the day before
        // each conversion; walking the window would visit 20,000 index entries per count.
        var ct = TestContext.Current.CancellationToken;
        var store = new InMemoryStore();
        IReferralStore contract = store;
        var code = ReferralCode.Parse("ANA20");
        const int Orders = 20_000;
        for (int done = 0; done < Orders; done += 1000)
        {
            await using var seed = await contract.BeginAsync(ct);
            var rows = Enumerable.Range(done, 1000).Select(n => CreditedOrder(n, code)).ToArray();
            Assert.Equal(WriteOutcome.Written, await seed.WriteAsync(new UnitOfWork(orders: rows), ct));
            await seed.CommitAsync(ct);
        }
        var from = T0;
        var until = T0 + Duration.FromDays(1);
        long walked = store.CountEntriesWalked;

        Assert.Equal(Orders, await contract.CountCreditedOrdersAsync(Program, Referrers[0], from, until, int.MaxValue, ct));
        Assert.Equal(15_000, await contract.CountCreditedOrdersAsync(Program, Referrers[0], T0 + Duration.FromSeconds(5_000), until, int.MaxValue, ct));
        Assert.Equal(101, await contract.CountCreditedOrdersAsync(Program, Referrers[0], from, until, 101, ct));
        Assert.Equal(12_345, await contract.CountCodeUsesAsync(code, new ListPosition(T0 + Duration.FromSeconds(12_345), ""), int.MaxValue, ct));
        // Committed entries only: no chunk needs a walk.
        Assert.Equal(walked, store.CountEntriesWalked);

        // A session that added three orders (one early, two late) and sees them, while outside readers do not: at most
        // the two chunks at a count's ends are walked, MaxChunk entries each.
        await using (var session = await contract.BeginAsync(ct))
        {
            var added = new[] { CreditedOrderAt(Orders, code, T0 + Duration.FromMilliseconds(1500)), CreditedOrder(Orders + 1, code), CreditedOrder(Orders + 2, code) };
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders: added), ct));
            walked = store.CountEntriesWalked;
            Assert.Equal(Orders + 3, await session.CountCreditedOrdersAsync(Program, Referrers[0], from, until, int.MaxValue, ct));
            // From second 2: the committed orders 2 to 19,999, and the two late ones the session added.
            Assert.Equal(Orders, await session.CountCreditedOrdersAsync(Program, Referrers[0], T0 + Duration.FromSeconds(2), until, int.MaxValue, ct));
            Assert.Equal(Orders, await contract.CountCreditedOrdersAsync(Program, Referrers[0], from, until, int.MaxValue, ct));
            Assert.Equal(Orders - 2, await contract.CountCreditedOrdersAsync(Program, Referrers[0], T0 + Duration.FromSeconds(2), until, int.MaxValue, ct));
            Assert.InRange(store.CountEntriesWalked - walked, 0, 4 * 2 * SortedChunkList<ListPosition>.MaxChunk);
        }
    }

    private static OrderRow CreditedOrder(int n, ReferralCode code) => CreditedOrderAt(n, code, T0 + Duration.FromSeconds(n));

    private static OrderRow CreditedOrderAt(int n, ReferralCode code, Instant at) =>
        new(new Conversion
        {
            Program = Program,
            OrderId = "w-" + n.ToString("D7", CultureInfo.InvariantCulture),
            Customer = new ParticipantId("w-" + n.ToString("D7", CultureInfo.InvariantCulture)),
            Amount = new Money(40m, "EUR"),
            EventTime = at,
        }, 1, Doc, Referrers[0], code, Referrers[0]);

    private static async Task<long> MedianBytesPerSessionAsync(int history)
    {
        IReferralStore store = new InMemoryStore();
        const int PerUnit = 1000;
        for (int done = 0; done < history; done += PerUnit)
        {
            var orders = Enumerable.Range(done, Math.Min(PerUnit, history - done)).Select(n => Order(n, 1, Referrers[0])).ToArray();
            await using var seed = await store.BeginAsync(TestContext.Current.CancellationToken);
            Assert.Equal(WriteOutcome.Written, await seed.WriteAsync(new UnitOfWork(orders: orders), TestContext.Current.CancellationToken));
            await seed.CommitAsync(TestContext.Current.CancellationToken);
        }
        long next = 100_000;
        for (int i = 0; i < 300; i++)
        {
            await ConvertAsync(store, next++);
        }
        var bytes = new long[101];
        for (int i = 0; i < bytes.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            await ConvertAsync(store, next++);
            bytes[i] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Array.Sort(bytes);
        return bytes[bytes.Length / 2];
    }

    private static async Task ConvertAsync(IReferralStore store, long n)
    {
        await using var session = await store.BeginAsync(TestContext.Current.CancellationToken);
        var order = Order(n, 1, Referrers[0]);
        var c = order.Conversion;
        Assert.Null(await session.FindOrderAsync(Program, c.OrderId, TestContext.Current.CancellationToken));
        var summaries = await session.GetSummariesAsync(Program, Referrers[0], [string.Empty], TestContext.Current.CancellationToken);
        await session.CountCreditedOrdersAsync(Program, Referrers[0], c.EventTime - Duration.FromDays(1), c.EventTime, 11, TestContext.Current.CancellationToken);
        long version = summaries.Count == 0 ? 0 : summaries[0].Version;
        var outcome = await session.WriteAsync(new UnitOfWork(
            orders: [order],
            entries: [new EntryRow(Program, c.OrderId + "/r", "1", c.EventTime, Doc), new EntryRow(Program, c.OrderId + "/f", "1", c.EventTime, Doc)],
            rewards: [
                new RewardRow(Program, c.OrderId + "/r", Referrers[0], c.OrderId, c.EventTime, 1, RewardDue.HoldEnds, c.EventTime + Duration.FromDays(30), Doc),
                new RewardRow(Program, c.OrderId + "/f", c.Customer, c.OrderId, c.EventTime, 1, RewardDue.HoldEnds, c.EventTime + Duration.FromDays(30), Doc),
            ],
            summaries: [new SummaryRow(Program, Referrers[0], string.Empty, version + 1, Doc), new SummaryRow(Program, c.Customer, string.Empty, 1, Doc)],
            notifications: [PendingNotification.Undelivered(c.OrderId + "/n", NotificationKind.ConversionDecided, Program, c.EventTime, c.EventTime, orderId: c.OrderId)]), TestContext.Current.CancellationToken);
        Assert.Equal(WriteOutcome.Written, outcome);
        await session.CommitAsync(TestContext.Current.CancellationToken);
    }

    // Orders in a scrambled event-time order, so rows land in the middle of the indexes, not only at their ends.
    private static OrderRow Order(long n, long version, ParticipantId? counted) =>
        new(new Conversion
        {
            Program = Program,
            OrderId = "o-" + n.ToString("D7", CultureInfo.InvariantCulture),
            Customer = new ParticipantId("c-" + n.ToString("D7", CultureInfo.InvariantCulture)),
            Amount = new Money(40m, "EUR"),
            EventTime = T0 + Duration.FromSeconds(n * 7919 % 1000),
        }, version, Doc, counted, null, counted);

    /// <summary>One order written in a unit: which order, and whose referral it counts as (-1: nobody's).</summary>
    public sealed record Write(int Order, int Counted);

    /// <summary>A unit: its orders, and whether it ends with a ledger entry that exists already (stopping it after the orders).</summary>
    public sealed record Unit(Write[] Writes, bool Stops);

    /// <summary>A session: its units, and whether it commits or is disposed uncommitted.</summary>
    public sealed record Session(Unit[] Units, bool Commits);

    private static Arbitrary<Session[]> Sessions()
    {
        var write = from order in Gen.Choose(0, 299)
                    from counted in Gen.Choose(-1, 1)
                    select new Write(order, counted);
        var unit = from writes in Gen.Choose(1, 60).SelectMany(n => Gen.ArrayOf(write, n))
                   from stops in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
                   select new Unit(writes.DistinctBy(w => w.Order).ToArray(), stops);
        var session = from units in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(unit, n))
                      from commits in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
                      select new Session(units, commits);
        return Gen.Choose(1, 14).SelectMany(n => Gen.ArrayOf(session, n)).ToArbitrary();
    }

    [Property(MaxTest = 150)]
    public Property Outside_readers_see_the_committed_orders_and_the_session_its_own_through_stops_rollbacks_and_commits() =>
        Prop.ForAll(Sessions(), sessions =>
        {
            IReferralStore store = new InMemoryStore();
            var taken = new EntryRow(Program, "taken", "1", T0, Doc);
            Run(store.BeginAsync().AsTask().GetAwaiter().GetResult(), s =>
            {
                Assert.Equal(WriteOutcome.Written, s.WriteAsync(new UnitOfWork(entries: [taken])).AsTask().GetAwaiter().GetResult());
                s.CommitAsync().AsTask().GetAwaiter().GetResult();
            });
            // The model: order -> (version, counted referrer or -1).
            var committed = new Dictionary<int, (long Version, int Counted)>();
            foreach (var plan in sessions)
            {
                var own = new Dictionary<int, (long Version, int Counted)>(committed);
                Run(store.BeginAsync().AsTask().GetAwaiter().GetResult(), session =>
                {
                    foreach (var unit in plan.Units)
                    {
                        var next = new Dictionary<int, (long Version, int Counted)>(own);
                        var rows = new List<OrderRow>();
                        foreach (var w in unit.Writes)
                        {
                            long version = (next.TryGetValue(w.Order, out var o) ? o.Version : 0) + 1;
                            next[w.Order] = (version, w.Counted);
                            rows.Add(Order(w.Order, version, w.Counted < 0 ? null : Referrers[w.Counted]));
                        }
                        var outcome = session.WriteAsync(new UnitOfWork(orders: rows, entries: unit.Stops ? [taken] : [])).AsTask().GetAwaiter().GetResult();
                        Assert.Equal(unit.Stops ? WriteOutcome.Duplicate(RowKind.Entry, "taken/1") : WriteOutcome.Written, outcome);
                        if (!unit.Stops)
                        {
                            own = next;
                        }
                        Check(session, own);
                        Check(store, committed);
                    }
                    if (plan.Commits)
                    {
                        session.CommitAsync().AsTask().GetAwaiter().GetResult();
                        committed = own;
                    }
                });
                Check(store, committed);
            }
            return true;
        });

    private static void Run(IReferralStoreSession session, Action<IReferralStoreSession> body)
    {
        try
        {
            body(session);
        }
        finally
        {
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Check(IReferralStoreReader reader, Dictionary<int, (long Version, int Counted)> model)
    {
        for (int r = 0; r < Referrers.Length; r++)
        {
            var expected = model.Where(kv => kv.Value.Counted == r).Select(kv => Order(kv.Key, kv.Value.Version, Referrers[r]))
                .OrderBy(o => new ListPosition(o.Conversion.EventTime, o.Conversion.OrderId)).Select(Describe).ToList();
            var actual = reader.ListReferralsAsync(Program, Referrers[r], null, 1000).AsTask().GetAwaiter().GetResult().Select(Describe).ToList();
            Assert.Equal(expected, actual);
            // Counting from a time in the middle, a page's worth: the same rows as the model's, up to the limit.
            var from = T0 + Duration.FromSeconds(400);
            int count = reader.CountCreditedOrdersAsync(Program, Referrers[r], from, T0 + Duration.FromSeconds(800), 50).AsTask().GetAwaiter().GetResult();
            Assert.Equal(Math.Min(50, model.Count(kv => kv.Value.Counted == r && Order(kv.Key, 1, null).Conversion.EventTime is var t && t >= from && t < T0 + Duration.FromSeconds(800))), count);
        }
        // The program's orders, paged from the end of each page.
        var all = model.Select(kv => Order(kv.Key, kv.Value.Version, kv.Value.Counted < 0 ? null : Referrers[kv.Value.Counted]))
            .OrderBy(o => new ListPosition(o.Conversion.EventTime, o.Conversion.OrderId)).Select(Describe).ToList();
        var paged = new List<string>();
        ListPosition? after = null;
        while (true)
        {
            var page = reader.ListProgramOrdersAsync(Program, after, 37).AsTask().GetAwaiter().GetResult();
            paged.AddRange(page.Select(Describe));
            if (page.Count < 37)
            {
                break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
        Assert.Equal(all, paged);
    }

    [Fact]
    public async Task Readers_outside_sessions_see_whole_committed_units_while_sessions_write_and_roll_back()
    {
        IReferralStore store = new InMemoryStore();
        using var done = new CancellationTokenSource();
        var ct = TestContext.Current.CancellationToken;
        int reads = 0;
        // Each committed session writes two orders in one unit; each disposed one writes two with ids starting "x", a
        // third unit stops on a duplicate. A reader outside must only ever see whole committed pairs, and no "x".
        async Task ReadAsync()
        {
            await Task.Yield();
            while (!done.IsCancellationRequested)
            {
                var orders = await store.ListProgramOrdersAsync(Program, null, 100_000, ct);
                Assert.Equal(0, orders.Count % 2);
                Assert.DoesNotContain(orders, o => o.Conversion.OrderId.StartsWith('x'));
                for (int i = 1; i < orders.Count; i++)
                {
                    Assert.True(new ListPosition(orders[i - 1].Conversion.EventTime, orders[i - 1].Conversion.OrderId)
                        .CompareTo(new ListPosition(orders[i].Conversion.EventTime, orders[i].Conversion.OrderId)) < 0);
                }
                Interlocked.Increment(ref reads);
            }
        }
        var readers = new[] { Task.Run(ReadAsync, ct), Task.Run(ReadAsync, ct) };
        try
        {
            for (int n = 0; n < 600; n++)
            {
                await using var session = await store.BeginAsync(ct);
                string prefix = n % 3 == 2 ? "x" : "o";
                var pair = new[] { Named(Order(2 * n, 1, Referrers[0]), prefix), Named(Order(2 * n + 1, 1, null), prefix) };
                Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders: pair), ct));
                var stopped = await session.WriteAsync(new UnitOfWork(orders: [Named(Order(2 * n + 1, 2, Referrers[1]), prefix)], entries: [new EntryRow(Program, "r", "1", T0, Doc), new EntryRow(Program, "r", "1", T0, Doc)]), ct);
                Assert.Equal(WriteStatus.Duplicate, stopped.Status);
                if (prefix == "o")
                {
                    await session.CommitAsync(ct);
                }
            }
        }
        finally
        {
            await done.CancelAsync();
            await Task.WhenAll(readers);
        }
        Assert.Equal(800, (await store.ListProgramOrdersAsync(Program, null, 100_000, ct)).Count);
        Assert.True(reads > 0);
    }

    private static OrderRow Named(OrderRow row, string prefix) =>
        new(row.Conversion with { OrderId = prefix + row.Conversion.OrderId }, row.Version, row.Document, row.CreditedReferrer, row.CreditedCode, row.CountedReferrer);

    private static string Describe(OrderRow o) => $"{o.Conversion.OrderId} v{o.Version} {o.CountedReferrer?.Value ?? "-"}";
}
