using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Referrals.Benchmarks;

/// <summary>
/// What a PostgreSQL conversion allocates, by type (not a result to quote): the runtime's allocation samples (one event
/// about every 100 KB allocated, naming the type of the object that crossed the mark) while COUNT conversions run from
/// one caller, summed by type. A sample stands for the ~100 KB before it, so the shares are estimates.
/// </summary>
internal static class AllocTypes
{
    public static async Task RunAsync(int count)
    {
        var b = new PostgreSqlStoreBenchmarks { Codes = 10_000 };
        await b.SetupAsync(engine: true).ConfigureAwait(false);
        try
        {
            using var listener = new AllocationListener();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < count; i++)
            {
                await b.RecordConversionAsync().ConfigureAwait(false);
            }
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            var samples = listener.Samples.ToArray();
            long sampled = samples.Sum(s => s.Value);
            Console.WriteLine($"{allocated / (double)count:F0} bytes allocated per conversion ({count} conversions); {listener.Counts.Values.Sum()} samples");
            foreach (var (type, bytes) in samples.Select(kv => (kv.Key, kv.Value)).OrderByDescending(t => t.Value).Take(40))
            {
                double share = bytes / (double)sampled;
                Console.WriteLine($"{share * 100,6:F1} %  ~{share * allocated / count,7:F0} B/conversion  {listener.Counts[type],5} samples  {type}");
            }
        }
        finally
        {
            b.Cleanup();
        }
    }

    private sealed class AllocationListener : EventListener
    {
        public ConcurrentDictionary<string, long> Samples { get; } = new();
        public ConcurrentDictionary<string, int> Counts { get; } = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
            {
                return;
            }
            int typeAt = e.PayloadNames.IndexOf("TypeName"), amountAt = e.PayloadNames.IndexOf("AllocationAmount64");
            string type = typeAt >= 0 ? e.Payload![typeAt] as string ?? "?" : "?";
            long amount = amountAt >= 0 ? Convert.ToInt64(e.Payload![amountAt], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
            Samples.AddOrUpdate(type, amount, (_, v) => v + amount);
            Counts.AddOrUpdate(type, 1, (_, v) => v + 1);
        }
    }
}
