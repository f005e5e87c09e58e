using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// The whole engine on a schema of a PostgreSQL database, as a host builds it (the SQLite tests' <c>SqliteEngine</c>
/// with <c>UsePostgreSql</c>): one program with a 10 EUR referrer credit and a 5 EUR friend coupon held 14 days. Two
/// engines built on the same schema stand for two app instances (or a restarted one).
/// </summary>
internal static class PostgreSqlEngine
{
    public static ServiceProvider Build(string connectionString, string schema, IClock clock, params IReferralNotifier[] notifiers) =>
        Build(connectionString, schema, clock, static (_, _) => { }, notifiers);

    /// <summary>The engine with the test's own additions (fraud checks, services, options).</summary>
    public static ServiceProvider Build(string connectionString, string schema, IClock clock, Action<IServiceCollection, ReferralsBuilder> configure, params IReferralNotifier[] notifiers)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        foreach (var notifier in notifiers)
        {
            services.AddSingleton(notifier);
        }
        var builder = services.AddReferrals(o =>
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
        }).UsePostgreSql(connectionString, o => o.Schema = schema);
        configure(services, builder);
        return services.BuildServiceProvider();
    }
}
