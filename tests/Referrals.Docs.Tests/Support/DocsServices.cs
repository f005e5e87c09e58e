using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Programs;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>
/// What the snippets run on: the library registered as a host registers it, on a fake clock (registered before
/// <c>AddReferrals</c>, as a host controls time) and a real SQLite file in a temp folder, or the in-memory store.
/// </summary>
internal sealed class DocsServices : IAsyncDisposable
{
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    private readonly ServiceProvider _provider;

    private DocsServices(ServiceProvider provider, FakeClock clock, DirectoryInfo? folder)
    {
        _provider = provider;
        Clock = clock;
        Folder = folder;
    }

    public IServiceProvider Services => _provider;

    public FakeClock Clock { get; }

    /// <summary>The temp folder holding the SQLite file, or null on the in-memory store.</summary>
    public DirectoryInfo? Folder { get; }

    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>Registers the library with <paramref name="configure"/>, checks the settings as a host does at start, and loads the code index.</summary>
    public static async Task<DocsServices> StartAsync(Action<ReferralsOptions> configure, bool sqlite = true, Action<IServiceCollection>? services = null)
    {
        var clock = new FakeClock(Start);
        var collection = new ServiceCollection();
        collection.AddSingleton<IClock>(clock);
        var builder = collection.AddReferrals(configure);
        DirectoryInfo? folder = null;
        if (sqlite)
        {
            folder = Directory.CreateTempSubdirectory("referrals-docs-");
            builder.UseSqlite($"Data Source={Path.Combine(folder.FullName, "referrals.db")}");
        }
        services?.Invoke(collection);
        var provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();
        await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(TestContext.Current.CancellationToken);
        return new DocsServices(provider, clock, folder);
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Folder?.Delete(recursive: true);
    }
}
