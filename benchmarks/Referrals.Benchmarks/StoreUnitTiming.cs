using System.Diagnostics;
using System.Globalization;
using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// A quick timing (not a BenchmarkDotNet result) of one conversion-shaped session on the narrow store contract — three
/// reads, then a unit writing an order, two ledger entries, two reward rows, two summaries and a notification, then the
/// commit — with one referrer holding a small and a large history, on <see cref="InMemoryStore"/>, the histories
/// interleaved in one run: µs and bytes allocated per session. (The copy-on-write store it replaced was measured by this
/// same harness at 8c6275f; the figures are in benchmarks/RESULTS.md.)
/// </summary>
internal static class StoreUnitTiming
{
    private static readonly ProgramId Program = new("timing");
    private static readonly ParticipantId Referrer = new("ana");
    private static readonly Instant T0 = Instant.FromUtc(2026, 1, 1, 0, 0);
    private static readonly ReferralCode Code = ReferralCode.Parse("ANA20");
    private const string Doc = """{"v":1,"note":"a document of a typical size for an order's decision and attribution"}""";

    public static async Task RunAsync(int[] histories, int sessions)
    {
        // Warm up (tiered JIT) before measuring anything.
        foreach (var store in new IReferralStore[] { new InMemoryStore() })
        {
            long n = await SeedAsync(store, 10);
            for (int i = 0; i < 3 * sessions; i++)
            {
                await ConvertAsync(store, n++);
            }
        }
        Console.WriteLine($"conversion-shaped session ({sessions} per measurement, median of {Rounds} rounds interleaved across the histories); {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
        var cases = new List<(string Name, int History, IReferralStore Store, long Next, List<double> Times, List<double> Bytes)>();
        foreach (int history in histories)
        {
            foreach (var (name, store) in new (string, IReferralStore)[] { ("InMemoryStore", new InMemoryStore()) })
            {
                cases.Add((name, history, store, await SeedAsync(store, history), [], []));
            }
        }
        // Rounds run the cases in turn, so a noisy neighbour on a shared machine spreads over all of them.
        for (int round = 0; round < Rounds; round++)
        {
            for (int k = 0; k < cases.Count; k++)
            {
                var c = cases[k];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < sessions; i++)
                {
                    await ConvertAsync(c.Store, c.Next++);
                }
                sw.Stop();
                c.Times.Add(sw.Elapsed.TotalMicroseconds / sessions);
                c.Bytes.Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)sessions);
                cases[k] = c;
            }
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < sessions; i++)
        {
            _ = Unit(Order(i), 1);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  (of the bytes, the harness's own rows and unit: {(GC.GetAllocatedBytesForCurrentThread() - before) / (double)sessions:F0} B per session)"));
        foreach (var (name, history, _, _, times, bytes) in cases)
        {
            times.Sort();
            bytes.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-24} referrer with {history,7} orders: {times[Rounds / 2],8:F2} us, {bytes[Rounds / 2],9:F0} B per session (rounds {times[0]:F2}..{times[^1]:F2} us)"));
        }
    }

    private const int Rounds = 9;

    private static Conversion Conversion(long n) => new()
    {
        Program = Program,
        OrderId = "o-" + n.ToString("D9", CultureInfo.InvariantCulture),
        Customer = new ParticipantId("friend-" + n.ToString(CultureInfo.InvariantCulture)),
        Amount = new Money(40m, "EUR"),
        EventTime = T0 + Duration.FromSeconds(n),
    };

    private static OrderRow Order(long n) => new(Conversion(n), 1, Doc, Referrer, Code, Referrer);

    private static async Task<long> SeedAsync(IReferralStore store, int history)
    {
        const int PerUnit = 1000;
        for (int done = 0; done < history;)
        {
            int count = Math.Min(PerUnit, history - done);
            var orders = new OrderRow[count];
            for (int i = 0; i < count; i++)
            {
                orders[i] = Order(done + i);
            }
            await using var session = await store.BeginAsync();
            var outcome = await session.WriteAsync(new UnitOfWork(orders: orders));
            if (outcome.Status != WriteStatus.Written)
            {
                throw new InvalidOperationException($"Seeding stopped: {outcome}.");
            }
            await session.CommitAsync();
            done += count;
        }
        await using (var session = await store.BeginAsync())
        {
            await session.WriteAsync(new UnitOfWork(summaries: [new SummaryRow(Program, Referrer, string.Empty, 1, Doc)]));
            await session.CommitAsync();
        }
        return history;
    }

    private static async Task ConvertAsync(IReferralStore store, long n)
    {
        await using var session = await store.BeginAsync();
        var order = Order(n);
        var c = order.Conversion;
        // The reads one decision makes: the order (idempotency), the referrer's summary, a velocity count.
        if (await session.FindOrderAsync(Program, c.OrderId) is not null)
        {
            throw new InvalidOperationException("The order exists.");
        }
        var summaries = await session.GetSummariesAsync(Program, Referrer, [string.Empty]);
        _ = await session.CountCreditedOrdersAsync(Program, Referrer, c.EventTime - Duration.FromDays(1), c.EventTime, 11);
        var outcome = await session.WriteAsync(Unit(order, summaries[0].Version));
        if (outcome.Status != WriteStatus.Written)
        {
            throw new InvalidOperationException($"The unit stopped: {outcome}.");
        }
        await session.CommitAsync();
    }

    private static UnitOfWork Unit(OrderRow order, long version)
    {
        var c = order.Conversion;
        return new UnitOfWork(
            orders: [order],
            entries: [
                new EntryRow(Program, c.OrderId + "/referrer", "1", c.EventTime, Doc),
                new EntryRow(Program, c.OrderId + "/referee", "1", c.EventTime, Doc),
            ],
            rewards: [
                new RewardRow(Program, c.OrderId + "/referrer", Referrer, c.OrderId, c.EventTime, 1, RewardDue.HoldEnds, c.EventTime + Duration.FromDays(30), Doc),
                new RewardRow(Program, c.OrderId + "/referee", c.Customer, c.OrderId, c.EventTime, 1, RewardDue.HoldEnds, c.EventTime + Duration.FromDays(30), Doc),
            ],
            summaries: [
                new SummaryRow(Program, Referrer, string.Empty, version + 1, Doc),
                new SummaryRow(Program, c.Customer, string.Empty, 1, Doc),
            ],
            notifications: [
                PendingNotification.Undelivered(c.OrderId + "/decided", NotificationKind.ConversionDecided, Program, c.EventTime, c.EventTime, orderId: c.OrderId),
            ]);
    }
}
