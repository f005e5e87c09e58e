using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Notifications;

namespace Referrals.Store.Tests.Support;

/// <summary>The whole engine on a SQLite file, as a host builds it: one program with a 10 EUR referrer credit and a 5 EUR friend coupon held 14 days.</summary>
internal static class SqliteEngine
{
    public static ServiceProvider Build(string path, IClock clock, params IReferralNotifier[] notifiers) =>
        Build(path, clock, static (_, _) => { }, notifiers);

    /// <summary>The engine with the test's own additions (fraud checks, services).</summary>
    public static ServiceProvider Build(string path, IClock clock, Action<IServiceCollection, ReferralsBuilder> configure, params IReferralNotifier[] notifiers)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        foreach (var notifier in notifiers)
        {
            services.AddSingleton(notifier);
        }
        var builder = services.AddReferrals(Referrals.Tests.Shared.EngineOptions.Configure).UseSqlite($"Data Source={path}");
        configure(services, builder);
        return services.BuildServiceProvider();
    }
}
