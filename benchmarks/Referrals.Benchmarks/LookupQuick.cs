using System.Diagnostics;
using NodaTime;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>A quick look at the look-up's costs while optimising (not a result to quote): ns per look-up in loops.</summary>
internal static class LookupQuick
{
    public static void Run(int count, int rounds)
    {
        var service = new ReferralCodeService(new InMemoryStore(), BenchmarkData.Options(), SystemClock.Instance);
        var codes = RandomCodes.Draw(count, seed: 2026);
        var plain = new Dictionary<string, long>(count, StringComparer.Ordinal);
        var index = service.Resolver.Index;
        index.Reserve(count);
        var now = SystemClock.Instance.GetCurrentInstant();
        for (int i = 0; i < codes.Length; i++)
        {
            index.Set(RandomCodes.Record(codes[i], now));
            plain.Add(codes[i], i);
        }
        var random = new Random(1);
        const int N = 4096;
        var hits = new string[N];
        var raw = new string[N];
        var misses = new string[N];
        for (int i = 0; i < N; i++)
        {
            string c = codes[random.Next(codes.Length)];
            hits[i] = new string(c.AsSpan());
            raw[i] = RandomCodes.Raw(c);
            string miss;
            do
            {
                miss = RandomCodes.Draw(1, seed: random.Next())[0];
            }
            while (plain.ContainsKey(miss));
            misses[i] = RandomCodes.Raw(miss);
        }
        codes = null;
        GC.Collect();
        if (Environment.GetEnvironmentVariable("LOOKUP_ONLY") is { } only)
        {
            // One kind of look-up, a fixed number of passes (for perf stat's counts: cycles, cache misses).
            Func<int> pass = only switch
            {
                "dict" => () => { long s = 0; foreach (var k in hits) { if (plain.TryGetValue(k, out long v)) { s += v; } } return (int)s; },
                "hit" => () => { int s = 0; foreach (var k in raw) { s += (int)service.Resolve(k).Outcome; } return s; },
                "miss" => () => { int s = 0; foreach (var k in misses) { s += (int)service.Resolve(k).Outcome; } return s; },
                "packed" => () => { int s = 0; foreach (var k in raw) { CodeText.TryFoldPacked(k, out _, out int n, out int c); s += n + c; } return s; },
                _ => () => 0,
            };
            int total = 0;
            for (int r = 0; r < rounds; r++)
            {
                total += pass();
            }
            Console.WriteLine(total);
            return;
        }
        for (int round = 0; round < rounds; round++)
        {
            Console.WriteLine(
                $"dict {Time(() => { long s = 0; foreach (var k in hits) { if (plain.TryGetValue(k, out long v)) { s += v; } } return (int)s; }):F1}  " +
                $"index(normalised) {Time(() => { int s = 0; foreach (var k in hits) { if (index.TryGet(k, out _)) { s++; } } return s; }):F1}  " +
                $"resolve {Time(() => { int s = 0; foreach (var k in raw) { s += (int)service.Resolve(k).Outcome; } return s; }):F1}  " +
                $"miss {Time(() => { int s = 0; foreach (var k in misses) { s += (int)service.Resolve(k).Outcome; } return s; }):F1}  " +
                $"hot {Time(() => { int s = 0; string k = raw[0]; for (int i = 0; i < N; i++) { s += (int)service.Resolve(k).Outcome; } return s; }):F1}  " +
                $"packed {Time(() => { int s = 0; foreach (var k in raw) { CodeText.TryFoldPacked(k, out _, out int n, out int c); s += n + c; } return s; }):F1}  " +
                $"fold {Time(() => { int s = 0; Span<char> b = stackalloc char[40]; foreach (var k in raw) { CodeText.Fold(k, b, out int n, out _); s += n; } return s; }):F1} ns");
        }
    }

    private static double Time(Func<int> pass)
    {
        pass();
        var sw = Stopwatch.StartNew();
        int reps = 0;
        while (sw.ElapsedMilliseconds < 300)
        {
            pass();
            reps++;
        }
        return sw.Elapsed.TotalNanoseconds / (reps * 4096.0);
    }
}
