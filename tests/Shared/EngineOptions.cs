using Referrals.Programs;
using Referrals.Rewards;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Tests.Shared;

/// <summary>
/// The settings of the store tests' engine, whatever the store (<c>SqliteEngine</c>, <c>PostgreSqlEngine</c>): one program
/// with a 10 EUR referrer credit and a 5 EUR friend coupon held 14 days.
/// </summary>
internal static class EngineOptions
{
    public static void Configure(ReferralsOptions o)
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
            },
        };
    }
}
