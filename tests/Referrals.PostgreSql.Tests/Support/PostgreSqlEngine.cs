using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Notifications;

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
        var builder = services.AddReferrals(Referrals.Tests.Shared.EngineOptions.Configure).UsePostgreSql(connectionString, o => o.Schema = schema);
        configure(services, builder);
        return services.BuildServiceProvider();
    }
}
