using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Benchmarks;

internal static class BenchmarkData
{
    public static readonly ProgramId Program = new("customers");

    public static ReferralsOptions Options()
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        return options;
    }

    /// <summary>A code service over the in-memory store holding <paramref name="count"/> printed receipt codes.</summary>
    public static async Task<(ReferralCodeService Service, List<ReferralCodeRecord> Codes)> CodesAsync(int count)
    {
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0));
        var service = new ReferralCodeService(new InMemoryStore(), Options(), clock);
        var codes = new List<ReferralCodeRecord>(count);
        var request = new CodeRequest { Program = Program, Owner = new ParticipantId("store-1"), Medium = ShareMedium.Receipt };
        await foreach (var record in service.GenerateBulkAsync(request, count))
        {
            codes.Add(record);
        }
        return (service, codes);
    }
}
