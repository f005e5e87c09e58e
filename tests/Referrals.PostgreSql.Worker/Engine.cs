using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Programs;
using Referrals.Rewards;

namespace Referrals.PostgreSql.Worker;

/// <summary>The engine every worker builds: one program, a 10 EUR referrer credit capped at 30 a month, a 5 EUR friend coupon.</summary>
public static class Engine
{
    public static readonly ProgramId Program = new("customers");
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 2, 9, 0);

    /// <summary>The referrer credit's cap: credits a referrer earns in a calendar month.</summary>
    public const int CreditsPerMonth = 30;

    public static ServiceProvider Build(string connectionString, string schema)
    {
        var services = new ServiceCollection();
        // Every instance decides at the same instant: decisions depend on event times, not on who ran first.
        services.AddSingleton<IClock>(new FakeClock(Start + Duration.FromDays(10)));
        services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Programs[Program.Value] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(14),
                    Rules =
                    [
                        new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "EUR" },
                        new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Amount = 5m, Currency = "EUR" },
                    ],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxCount = CreditsPerMonth, Policy = CapPolicy.Skip }],
                },
            };
        }).UsePostgreSql(connectionString, o => o.Schema = schema);
        return services.BuildServiceProvider();
    }

    /// <summary>The orders every worker sends: order i refers friend i through referrer i mod n's code, i minutes after the start.</summary>
    public static Conversion[] Orders(string[] codes, int count) =>
        Enumerable.Range(0, count).Select(i => new Conversion
        {
            Program = Program,
            OrderId = $"o-{i}",
            Customer = new ParticipantId($"friend-{i}"),
            Amount = new Money(50m, "EUR"),
            EventTime = Start + Duration.FromMinutes(i),
            PresentedCode = codes[i % codes.Length],
        }).ToArray();
}
