using Microsoft.Extensions.DependencyInjection;
using Referrals.Participants;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Tests.Hosting;

/// <summary>
/// Which store the services of a container run on: an <see cref="InMemoryStore"/> by default, and the
/// <see cref="IReferralStore"/> a host registers (UseSqlite registers the SQLite store) when there is one.
/// </summary>
public sealed class StoreRegistrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Programs["customers"] = new Programs.ProgramOptions { TimeZone = "Europe/Berlin" });
        return services;
    }

    [Fact]
    public async Task By_default_the_services_run_on_one_in_memory_store()
    {
        using var provider = Services().BuildServiceProvider();

        var store = Assert.IsType<InMemoryStore>(provider.GetRequiredService<IReferralStore>());
        Assert.Same(store, provider.GetRequiredService<IReferralStore>());
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("cem") }, Ct);
        Assert.NotNull(await ((IReferralStore)store).FindParticipantAsync(new ParticipantId("cem"), Ct));
    }

    [Fact]
    public async Task A_registered_store_is_the_one_the_services_run_on()
    {
        var services = Services();
        IReferralStore mine = new InMemoryStore();
        services.AddSingleton(mine);
        using var provider = services.BuildServiceProvider();

        Assert.Same(mine, provider.GetRequiredService<IReferralStore>());
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("cem") }, Ct);
        Assert.NotNull(await mine.FindParticipantAsync(new ParticipantId("cem"), Ct));
    }
}
