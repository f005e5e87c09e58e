using BenchmarkDotNet.Attributes;
using Referrals.Codes;
using Referrals.Services;

namespace Referrals.Benchmarks;

/// <summary>
/// The hot path: raw input from a till or a checkout form resolved to the code record, over 1,000,000 codes.
/// Baseline: a plain dictionary lookup of an already-normalised string, the least any lookup can cost.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 20)]
public class CodeLookupBenchmarks
{
    private const int CodeCount = 1_000_000;

    private ReferralCodeService _service = null!;
    private Dictionary<string, ReferralCodeRecord> _plain = null!;
    private string _normalizedHit = null!;
    private string _rawHit = null!;
    private string _rawMiss = null!;
    private string _rawCheckFailed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (service, codes) = BenchmarkData.CodesAsync(CodeCount).GetAwaiter().GetResult();
        _service = service;
        _plain = codes.ToDictionary(r => r.Code.Value, StringComparer.Ordinal);
        var target = codes[codes.Count / 2];
        _normalizedHit = new string(target.Code.Value.AsSpan()); // a fresh string, as a request would bring
        _rawHit = " " + target.Display.ToLowerInvariant() + " "; // " abcd-efghk "
        string missData = "ZZZZ" + target.Code.Value[4..8];
        string miss = missData + CheckCharacter.Compute(missData);
        while (_plain.ContainsKey(miss))
        {
            missData = "Y" + missData[1..];
            miss = missData + CheckCharacter.Compute(missData);
        }
        _rawMiss = " " + miss[..4].ToLowerInvariant() + "-" + miss[4..].ToLowerInvariant() + " ";
        char[] typo = target.Code.Value.ToCharArray();
        typo[3] = typo[3] == 'X' ? 'Y' : 'X';
        _rawCheckFailed = " " + new string(typo, 0, 4).ToLowerInvariant() + "-" + new string(typo, 4, typo.Length - 4).ToLowerInvariant() + " ";

        Check(_service.Resolve(_rawHit).Outcome == CodeResolutionOutcome.Found, "hit");
        Check(_service.Resolve(_rawMiss).Outcome == CodeResolutionOutcome.NotFound, "miss");
        Check(_service.Resolve(_rawCheckFailed).Outcome == CodeResolutionOutcome.CheckFailed, "check failed");
    }

    [Benchmark(Baseline = true)]
    public ReferralCodeRecord? Baseline_DictionaryHit() => _plain.TryGetValue(_normalizedHit, out var r) ? r : null;

    [Benchmark]
    public CodeResolution ResolveRaw_Hit() => _service.Resolve(_rawHit);

    [Benchmark]
    public CodeResolution ResolveRaw_Miss() => _service.Resolve(_rawMiss);

    [Benchmark]
    public CodeResolution ResolveRaw_CheckFailed() => _service.Resolve(_rawCheckFailed);

    /// <summary>The guessing-limited overload (issue 16): a hit while nobody is limited pays two volatile reads and the clock.</summary>
    [Benchmark]
    public CodeResolution ResolveFromSource_Hit() => _service.Resolve(_rawHit, BenchmarkData.Program, "198.51.100.7");

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: the {what} input does not resolve as intended.");
        }
    }
}
