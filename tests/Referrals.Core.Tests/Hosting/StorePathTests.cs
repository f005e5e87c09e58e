using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Referrals.Pipeline;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Tests.Hosting;

/// <summary>
/// Which store the services of a container run on (<see cref="StorePath"/>): the narrow contract by default and when a
/// host registers an <see cref="IReferralStore"/>; today's interfaces when a host replaced them with its own (UseSqlite,
/// until the SQLite store implements the contract).
/// </summary>
public sealed class StorePathTests
{
    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Programs["customers"] = new Programs.ProgramOptions { TimeZone = "Europe/Berlin" });
        return services;
    }

    [Fact]
    public void By_default_the_services_run_on_an_in_memory_store_of_the_contract()
    {
        using var provider = Services().BuildServiceProvider();

        Assert.IsType<InMemoryStore>(provider.GetRequiredService<StorePath>().Contract);
        Assert.NotNull(provider.GetRequiredService<RewardService>().Contract);
    }

    [Fact]
    public void A_registered_store_of_the_contract_is_the_one_the_services_run_on()
    {
        var services = Services();
        var mine = new InMemoryStore();
        services.AddSingleton<IReferralStore>(mine);
        using var provider = services.BuildServiceProvider();

        Assert.Same(mine, provider.GetRequiredService<StorePath>().Contract);
    }

    [Fact]
    public void A_hosts_own_stores_of_todays_interfaces_keep_the_services_on_those()
    {
        var services = Services();
        var old = new InMemoryReferralStore();
        services.RemoveAll<IConversionStore>();
        services.AddSingleton(ConversionStoreOf(old));
        using var provider = services.BuildServiceProvider();

        Assert.Null(provider.GetRequiredService<StorePath>().Contract);
        Assert.Null(provider.GetRequiredService<RewardService>().Contract);
    }

    /// <summary>The in-memory store's conversions behind another type, as a host's own store would be.</summary>
    private static IConversionStore ConversionStoreOf(InMemoryReferralStore inner)
    {
        var proxy = DispatchProxy.Create<IConversionStore, Forwarder>();
        ((Forwarder)(object)proxy).Inner = inner;
        return proxy;
    }

    public class Forwarder : DispatchProxy
    {
        public object Inner { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod!.Invoke(Inner, args);
    }
}
