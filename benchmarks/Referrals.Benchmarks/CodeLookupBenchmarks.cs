using BenchmarkDotNet.Attributes;
using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// The hot path: raw input from a till or a checkout form resolved to a code, over 1,000,000 and 10,000,000 codes, each
/// invocation 4,096 different inputs drawn at random from the codes (so every look-up pays the cache misses a busy shop's
/// look-ups pay, not one hot key's). Baseline: a bare <see cref="Dictionary{TKey, TValue}"/> look-up of the same random
/// codes, already normalised (fresh strings, as a request would bring them), the least a look-up by string can cost.
/// The hot-key rows (one input again and again) are kept for comparison with the earlier results.
/// </summary>
/// <remarks>
/// The codes are put in the code service's index directly (the index holds what it would after loading them from a
/// store); which codes it holds, and whether each input hits, misses or fails its check, is checked in the setup.
/// </remarks>
[MemoryDiagnoser]
// Eight warm-up iterations: after the setup (a million codes and more drawn and indexed) the first iterations of a
// process ran 3-4x slower in one run (2026-12-03).
[SimpleJob(launchCount: 1, warmupCount: 8, iterationCount: 15)]
public class CodeLookupBenchmarks
{
    private const int Inputs = 4096;

    [ParamsSource(nameof(CodeCounts))]
    public int CodeCount { get; set; }

    /// <summary>1M and 10M codes; <c>REFERRALS_LOOKUP_CODES=1000000</c> runs one count (a quicker look).</summary>
    public static IEnumerable<int> CodeCounts =>
        Environment.GetEnvironmentVariable("REFERRALS_LOOKUP_CODES") is { Length: > 0 } only
            ? only.Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))
            : [1_000_000, 10_000_000];

    private ReferralCodeService _service = null!;
    private Dictionary<string, long> _plain = null!;
    private string[] _normalizedHits = null!;
    private string[] _normalizedMisses = null!;
    private string[] _rawHits = null!;
    private string[] _rawMisses = null!;
    private string[] _rawCheckFailed = null!;
    private string _rawHotHit = null!;

    [GlobalSetup]
    public void Setup()
    {
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0));
        _service = new ReferralCodeService(new InMemoryStore(), BenchmarkData.Options(), clock);
        var codes = RandomCodes.Draw(CodeCount, seed: 2026);
        _plain = new Dictionary<string, long>(CodeCount, StringComparer.Ordinal);
        var index = _service.Resolver.Index;
        index.Reserve(CodeCount);
        for (int i = 0; i < codes.Length; i++)
        {
            index.Set(RandomCodes.Record(codes[i], clock.GetCurrentInstant()));
            _plain.Add(codes[i], i);
        }

        var random = new Random(42);
        _normalizedHits = new string[Inputs];
        _rawHits = new string[Inputs];
        _normalizedMisses = new string[Inputs];
        _rawMisses = new string[Inputs];
        _rawCheckFailed = new string[Inputs];
        for (int i = 0; i < Inputs; i++)
        {
            string hit = codes[random.Next(codes.Length)];
            _normalizedHits[i] = new string(hit.AsSpan()); // a fresh string, as a request would bring
            _rawHits[i] = RandomCodes.Raw(hit);            // " abcd-efghk "
            string miss;
            do
            {
                miss = RandomCodes.Draw(1, seed: random.Next())[0];
            }
            while (_plain.ContainsKey(miss));
            _normalizedMisses[i] = miss;
            _rawMisses[i] = RandomCodes.Raw(miss);
            char[] typo = codes[random.Next(codes.Length)].ToCharArray();
            int at = random.Next(typo.Length);
            typo[at] = CodeAlphabet.SymbolOf((CodeAlphabet.ValueOf(typo[at]) + 1 + random.Next(31)) % 32);
            _rawCheckFailed[i] = RandomCodes.Raw(new string(typo));
        }
        _rawHotHit = _rawHits[0];
        codes = null;

        Check(_rawHits.All(r => _service.Resolve(r).Outcome == CodeResolutionOutcome.Found), "hit");
        Check(_normalizedHits.All(_plain.ContainsKey), "dictionary hit");
        Check(_rawMisses.All(r => _service.Resolve(r).Outcome == CodeResolutionOutcome.NotFound), "miss");
        Check(_rawCheckFailed.All(r => _service.Resolve(r).Outcome == CodeResolutionOutcome.CheckFailed), "check failed");
        Check(_service.IndexedCount == CodeCount, "index count");
        GC.Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Inputs)]
    public long Baseline_DictionaryHit_Random() => LookUpAll(_normalizedHits);

    [Benchmark(OperationsPerInvoke = Inputs)]
    public long DictionaryMiss_Random() => LookUpAll(_normalizedMisses);

    [Benchmark(OperationsPerInvoke = Inputs)]
    public int ResolveRaw_Hit_Random() => ResolveAll(_rawHits);

    [Benchmark(OperationsPerInvoke = Inputs)]
    public int ResolveRaw_Miss_Random() => ResolveAll(_rawMisses);

    [Benchmark(OperationsPerInvoke = Inputs)]
    public int ResolveRaw_CheckFailed_Random() => ResolveAll(_rawCheckFailed);

    /// <summary>The guessing-limited overload (issue 16) on random hits: while nobody is limited, two volatile reads more.</summary>
    [Benchmark(OperationsPerInvoke = Inputs)]
    public int ResolveFromSource_Hit_Random()
    {
        int found = 0;
        var service = _service;
        foreach (var raw in _rawHits)
        {
            found += (int)service.Resolve(raw, BenchmarkData.Program, "198.51.100.7").Outcome;
        }
        return found;
    }

    /// <summary>One input again and again (the earlier benchmark's case): the cache, not the memory.</summary>
    [Benchmark(OperationsPerInvoke = Inputs)]
    public int ResolveRaw_Hit_HotKey()
    {
        int found = 0;
        var service = _service;
        string raw = _rawHotHit;
        for (int i = 0; i < Inputs; i++)
        {
            found += (int)service.Resolve(raw).Outcome;
        }
        return found;
    }

    private long LookUpAll(string[] keys)
    {
        long sum = 0;
        var plain = _plain;
        foreach (var key in keys)
        {
            if (plain.TryGetValue(key, out long v))
            {
                sum += v;
            }
        }
        return sum;
    }

    private int ResolveAll(string[] inputs)
    {
        int outcomes = 0;
        var service = _service;
        foreach (var raw in inputs)
        {
            outcomes += (int)service.Resolve(raw).Outcome;
        }
        return outcomes;
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: the {what} inputs do not resolve as intended.");
        }
    }
}

/// <summary>Random generated codes (8 data symbols and the check symbol, the default), seeded, distinct, for benchmarks.</summary>
internal static class RandomCodes
{
    /// <summary><paramref name="count"/> distinct normalised codes with a valid check symbol.</summary>
    public static string[] Draw(int count, int seed)
    {
        var random = new Random(seed);
        var seen = new HashSet<ulong>(count);
        var codes = new string[count];
        Span<char> key = stackalloc char[9];
        int n = 0;
        while (n < count)
        {
            ulong bits = (ulong)random.NextInt64() & ((1UL << 40) - 1);
            if (!seen.Add(bits))
            {
                continue;
            }
            for (int i = 0; i < 8; i++)
            {
                key[i] = CodeAlphabet.SymbolOf((int)((bits >> (5 * i)) & 31));
            }
            key[8] = CheckCharacter.Compute(key[..8]);
            codes[n++] = new string(key);
        }
        return codes;
    }

    /// <summary>A bulk receipt code's record as the code service issues it (program, medium, display).</summary>
    public static ReferralCodeRecord Record(string code, Instant at) => new(
        code: ReferralCode.FromNormalized(code),
        display: CodeText.Format(null, code.AsSpan(0, 8), code[8], 4),
        program: BenchmarkData.Program,
        owner: null,
        medium: ShareMedium.Receipt,
        kind: CodeKind.Bulk,
        status: CodeStatus.Active,
        createdAt: at,
        expiresAt: null,
        maxUses: null,
        uses: 0,
        version: 1);

    /// <summary>The code as a cashier types it: padded, lower case, dashed (<c>" abcd-efghk "</c>).</summary>
    public static string Raw(string code) => " " + code[..4].ToLowerInvariant() + "-" + code[4..].ToLowerInvariant() + " ";
}
