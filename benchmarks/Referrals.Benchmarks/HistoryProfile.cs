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
        var cases = new List<(int History, HistoryScenario Scenario, List<double> Times)>();
        int friend = HistoryScenario.FirstNewFriend;
        foreach (int history in histories)
        {
            var sw = Stopwatch.StartNew();
            var scenario = await HistoryScenario.SeedInMemoryAsync(history);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {history} in {sw.Elapsed.TotalSeconds:F1} s"));
            await scenario.WarmConversionAsync(friend++);
            cases.Add((history, scenario, []));
        }
        var at = HistoryScenario.BenchInstant;
        // Seconds between two measured conversions (1 by default): more for long profiling runs, so that the hour and
        // the day windows do not fill up beyond the scenario's velocity limits.
        // HISTORY_PROFILE_SETTLE=0: no full compacting collection before each round (the benchmark makes one).
        bool settle = Environment.GetEnvironmentVariable("HISTORY_PROFILE_SETTLE") != "0";
        int spacing = int.TryParse(Environment.GetEnvironmentVariable("HISTORY_PROFILE_SPACING"), CultureInfo.InvariantCulture, out int s) ? s : 1;
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (history, scenario, times) in cases)
            {
                var conversions = Enumerable.Range(0, perRound).Select(i => scenario.NewConversion(friend++, HistoryScenario.AnaCode, at + Duration.FromSeconds(i * spacing))).ToArray();
                if (settle)
                {
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                }
                var sw = Stopwatch.StartNew();
                foreach (var c in conversions)
                {
                    scenario.Clock.Reset(c.EventTime);
                    var r = await scenario.Attribution.RecordConversionAsync(c);
                    HistoryScenario.Check(r.IsAttributed, "the conversion is attributed");
                }
                times.Add(sw.Elapsed.TotalMicroseconds / perRound);
            }
            at += Duration.FromSeconds(perRound * spacing);
        }
        foreach (var (history, scenario, times) in cases)
        {
            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history {history,7}: median {times[times.Count / 2],8:F1} us per conversion (rounds {times[0]:F1}..{times[^1]:F1})"));
            scenario.Dispose();
        }
    }
}
