using Referrals.Codes;
using Referrals.Services;
using Referrals.Storage;
using NodaTime;
using NodaTime.Testing;

namespace Referrals.Benchmarks;

/// <summary>Measures the managed memory the in-memory code index holds per code (not a timing: GC heap bytes).</summary>
internal static class IndexMemory
{
    public static async Task ReportAsync(int count)
    {
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0));
        var store = new InMemoryStore();
        long before = Heap();
        var service = new ReferralCodeService(store, BenchmarkData.Options(), clock);
        var request = new CodeRequest { Program = BenchmarkData.Program, Owner = new ParticipantId("store-1"), Medium = ShareMedium.Receipt };
        await foreach (var _ in service.GenerateBulkAsync(request, count))
        {
        }
        long withStore = Heap();

        // A second service over the same store: its index alone (records are shared with the store).
        var reader = new ReferralCodeService(store, BenchmarkData.Options(), clock);
        long beforeIndex = Heap();
        await reader.InitializeAsync();
        long indexOnly = Heap() - beforeIndex;

        Console.WriteLine($"codes: {count:N0}");
        Console.WriteLine($"store + index + records: {(withStore - before) / (double)count:F1} bytes per code");
        Console.WriteLine($"index entries only (records shared with the store): {indexOnly / (double)count:F1} bytes per code");
        GC.KeepAlive(service);
        GC.KeepAlive(reader);
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
