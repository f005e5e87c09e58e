using System.Diagnostics;
using System.Globalization;
using NodaTime;

namespace Referrals.Benchmarks;

/// <summary>
/// A quick timing (not a BenchmarkDotNet result) of <see cref="HistoryLengthBenchmarks"/>' conversion over the public
/// API, for profiling what grows with the referrer's history: seeds <see cref="HistoryScenario"/> in memory once per
/// history, then times rounds of conversions of new friends, one second apart after the benchmark's instant, the
/// histories interleaved round by round. A round adds its conversions to the history, so keep the count small against
/// the smallest history's day window. Run it under <c>dotnet-trace</c> with <c>loop</c> to profile one history.
/// </summary>
internal static class HistoryProfile
{
    public static async Task RunAsync(int[] histories, int perRound, int rounds)
    {
        var cases = new List<(int History, HistoryScenario Scenario, List<double> Times, List<(int G0, int G1, int G2, double PauseUs, long Bytes)> Gcs)>();
        int friend = HistoryScenario.FirstNewFriend;
        // HISTORY_PROFILE_FILL=M: every history's program holds M referrals in all (see HistoryLengthBenchmarks.Fill).
        int fill = int.TryParse(Environment.GetEnvironmentVariable("HISTORY_PROFILE_FILL"), CultureInfo.InvariantCulture, out int m) ? m : 0;
        foreach (int history in histories)
        {
            var sw = Stopwatch.StartNew();
            var scenario = await HistoryScenario.SeedInMemoryAsync(history, fill);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {history} in {sw.Elapsed.TotalSeconds:F1} s"));
            await scenario.WarmConversionAsync(friend++);
            cases.Add((history, scenario, [], []));
        }
        var at = HistoryScenario.BenchInstant;
        // Seconds between two measured conversions (1 by default): more for long profiling runs, so that the hour and
        // the day windows do not fill up beyond the scenario's velocity limits.
        // HISTORY_PROFILE_SETTLE=0: no full compacting collection before each round (the benchmark makes one).
        bool settle = Environment.GetEnvironmentVariable("HISTORY_PROFILE_SETTLE") != "0";
        int spacing = int.TryParse(Environment.GetEnvironmentVariable("HISTORY_PROFILE_SPACING"), CultureInfo.InvariantCulture, out int s) ? s : 1;
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (history, scenario, times, gcs) in cases)
            {
                var conversions = Enumerable.Range(0, perRound).Select(i => scenario.NewConversion(friend++, HistoryScenario.AnaCode, at + Duration.FromSeconds(i * spacing))).ToArray();
                if (settle)
                {
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                }
                int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
                var pause = GC.GetTotalPauseDuration();
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                foreach (var c in conversions)
                {
                    scenario.Clock.Reset(c.EventTime);
                    var r = await scenario.Attribution.RecordConversionAsync(c);
                    HistoryScenario.Check(r.IsAttributed, "the conversion is attributed");
                }
                times.Add(sw.Elapsed.TotalMicroseconds / perRound);
                gcs.Add((GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2, (GC.GetTotalPauseDuration() - pause).TotalMicroseconds / perRound, (GC.GetAllocatedBytesForCurrentThread() - bytes) / perRound));
            }
            at += Duration.FromSeconds(perRound * spacing);
        }
        foreach (var (history, scenario, times, gcs) in cases)
        {
            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history {history,7}: median {times[times.Count / 2],8:F1} us per conversion (rounds {times[0]:F1}..{times[^1]:F1}); "
                + $"collections gen0 {gcs.Sum(g => g.G0)}, gen1 {gcs.Sum(g => g.G1)}, gen2 {gcs.Sum(g => g.G2)} in {gcs.Count} rounds, GC pause {gcs.Average(g => g.PauseUs):F1} us and {gcs.Average(g => g.Bytes):F0} B allocated per conversion"));
            scenario.Dispose();
        }
    }
}
