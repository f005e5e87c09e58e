using NodaTime;
using Referrals.Attribution;
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

    /// <summary>
    /// The store benchmarks' n-th conversion: a new customer (<c>f-n</c>, order <c>o-n</c>), 50 EUR online at
    /// <paramref name="at"/>, presenting the (n × 7919 mod the number of codes)-th code of <paramref name="displays"/>, so
    /// consecutive conversions credit different referrers.
    /// </summary>
    public static Conversion StoreConversion(int n, Instant at, string[] displays)
    {
        string id = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new Conversion
        {
            Program = Program,
            OrderId = "o-" + id,
            Customer = new ParticipantId("f-" + id),
            Amount = new Money(50m, "EUR"),
            EventTime = at,
            Channel = Channel.Online,
            PresentedCode = displays[(int)((n * 7919L) % displays.Length)],
        };
    }
}
