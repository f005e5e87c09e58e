using System.Globalization;
using System.Text;
using NodaTime;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Sqlite;

namespace Referrals.Benchmarks;

/// <summary>
/// The `referrals` tool's import figure (issue 22): a SQLite file in DIR with REFERRERS referrers holding a code each (the
/// program "customers" with the shop-wide settings DIR/appsettings.json names), and DIR/pos.csv of ROWS POS captures, each
/// a new customer's order presenting one of the codes at random: what a month of tills uploads.
/// </summary>
internal static class ToolSeed
{
    public static async Task RunAsync(string directory, int referrers, int rows)
    {
        Directory.CreateDirectory(directory);
        string db = Path.Combine(directory, "referrals.db");
        await File.WriteAllTextAsync(Path.Combine(directory, "appsettings.json"), """
            {
              "ConnectionStrings": { "Referrals": "Data Source=referrals.db" },
              "Referrals": {
                "Links": { "Template": "https://shop.example/r/{code}" },
                "Programs": { "customers": { "TimeZone": "Europe/Berlin", "Rewards": { "Rules": [ { "Name": "thanks", "Amount": 10, "Currency": "EUR" } ] } } }
              }
            }
            """);
        var codes = new List<string>(referrers);
        await using (var store = SqliteReferralStore.OpenFile(db))
        {
            var service = new ReferralCodeService(store, BenchmarkData.Options(), SystemClock.Instance);
            for (int i = 0; i < referrers; i++)
            {
                var record = await service.IssueAsync(new CodeRequest { Program = BenchmarkData.Program, Owner = new ParticipantId($"r-{i}"), Medium = ShareMedium.Receipt });
                codes.Add(record.Display);
            }
        }
        var random = new Random(22);
        var start = Instant.FromUtc(2026, 11, 1, 8, 0);
        await using var csv = new StreamWriter(Path.Combine(directory, "pos.csv"), false, new UTF8Encoding(false), 1 << 16);
        await csv.WriteLineAsync("capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency");
        for (int n = 0; n < rows; n++)
        {
            var at = start + Duration.FromSeconds(n * 2L);
            string time = at.InZone(DateTimeZone.ForOffset(Offset.FromHours(1))).ToString("uuuu-MM-dd'T'HH:mm:sso<+HH:mm>", CultureInfo.InvariantCulture);
            await csv.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"cap-{n},store-{n % 40},{n % 4},{time},{codes[random.Next(codes.Count)]},cust-{n},pos-{n},{20 + (n % 80)}.90,EUR"));
        }
        Console.WriteLine($"{referrers} referrers in {db}; {rows} rows in {Path.Combine(directory, "pos.csv")}");
    }
}
