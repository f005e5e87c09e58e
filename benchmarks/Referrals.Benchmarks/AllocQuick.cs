using System.Diagnostics;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Benchmarks;

/// <summary>
/// What a bulk code's objects cost on this machine alone (not a result to quote): a record and its two strings made for
/// 100,000 codes, held in chunks of CHUNK and then dropped, or all kept (as a store that keeps the records does).
/// </summary>
internal static class AllocQuick
{
    public static void Run(bool keep, int chunkSize)
    {
        var now = Instant.FromUtc(2026, 11, 23, 9, 0);
        for (int round = 0; round < 8; round++)
        {
            var kept = keep ? new List<ReferralCodeRecord>(100_000) : null;
            var chunk = new List<ReferralCodeRecord>(chunkSize);
            var sw = Stopwatch.StartNew();
            char[] key = "ABCDEFGHJ".ToCharArray();
            for (int i = 0; i < 100_000; i++)
            {
                key[i % 9] = (char)('A' + (i % 20));
                var r = new ReferralCodeRecord(
                    code: ReferralCode.FromNormalized(new string(key)),
                    display: new string(key) + "-",
                    program: BenchmarkData.Program,
                    owner: null,
                    medium: ShareMedium.Receipt,
                    kind: CodeKind.Bulk,
                    status: CodeStatus.Active,
                    createdAt: now,
                    expiresAt: null,
                    maxUses: null,
                    uses: 0,
                    version: 1);
                chunk.Add(r);
                if (chunk.Count == chunkSize)
                {
                    chunk.Clear();
                }
                kept?.Add(r);
            }
            Console.WriteLine(FormattableString.Invariant($"{(keep ? "kept" : "dropped")} after chunks of {chunkSize}: {sw.Elapsed.TotalNanoseconds / 100_000:F0} ns a code"));
        }
    }
}
