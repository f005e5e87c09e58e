using NodaTime;
using Referrals.Attribution;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// The in-memory contract store alone: the cost of a conversion-shaped unit of work (order, ledger entry, reward row,
/// two summaries) against the number of orders the store holds, to tell the store's share of the history-length rows
/// from the engine's. Prints time and bytes per unit for 2,000 units after seeding N.
/// </summary>
internal static class ContractStoreQuick
{
    private static readonly ProgramId Program = new("p");
    private static readonly Instant Start = Instant.FromUtc(2026, 11, 1, 0, 0);

    public static async Task RunAsync(int n)
    {
        IReferralStore store = new InMemoryStore();
        var ana = new ParticipantId("ana");
        long anaVersion = 0;
        for (int from = 0; from < n; from += 1000)
        {
            await using var session = await store.BeginAsync();
            for (int i = from; i < Math.Min(n, from + 1000); i++)
            {
                var outcome = await session.WriteAsync(Unit(i, ana, anaVersion));
                anaVersion++;
                Check(outcome);
            }
            await session.CommitAsync();
        }
        const int Measured = 2000;
        for (int round = 0; round < 3; round++)
        {
            GC.Collect();
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < Measured; i++)
            {
                await using var session = await store.BeginAsync();
                Check(await session.WriteAsync(Unit(n + (round * Measured) + i, ana, anaVersion)));
                anaVersion++;
                await session.CommitAsync();
            }
            sw.Stop();
            Console.WriteLine($"N={n}: {sw.Elapsed.TotalMicroseconds / Measured:F2} us, {(GC.GetAllocatedBytesForCurrentThread() - bytes) / Measured} B per unit");
        }
    }

    private static void Check(WriteOutcome outcome)
    {
        if (outcome.Status != WriteStatus.Written)
        {
            throw new InvalidOperationException(outcome.ToString());
        }
    }

    private static UnitOfWork Unit(int i, ParticipantId referrer, long referrerVersion)
    {
        string order = "o-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var friend = new ParticipantId("f-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var at = Start + Duration.FromSeconds(i);
        var conversion = new Conversion { Program = Program, OrderId = order, Customer = friend, Amount = new Money(50m, "EUR"), EventTime = at };
        return new UnitOfWork(
            orders: [new OrderRow(conversion, 1, """{"v":1}""", referrer, null, referrer)],
            entries: [new EntryRow(Program, order + "#1:r", order + "#1:r:earned", at, """{"v":1}""")],
            rewards: [new RewardRow(Program, order + "#1:r", referrer, order, at, 1, Rewards.RewardDue.HoldEnds, at + Duration.FromDays(30), """{"v":1}""")],
            summaries: [
                new SummaryRow(Program, referrer, "", referrerVersion + 1, """{"v":1}"""),
                new SummaryRow(Program, friend, "", 1, """{"v":1}"""),
            ]);
    }
}
