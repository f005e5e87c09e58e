// The snippets show a host's code, which passes no test cancellation token where one is optional.
#pragma warning disable xUnit1051

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Testing;

namespace Referrals.Docs;

/// <summary>The code of docs/stores.md, run: the in-memory store, the SQLite store with and without a generic host, a store of your own.</summary>
public sealed class StoresSnippets
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WithoutAStoreTheServicesRunInMemory()
    {
        #region Stores.InMemory
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" });
        // No store registered: the services run on one InMemoryStore, which is gone when the process ends.
        #endregion

        await using var provider = services.BuildServiceProvider();
        var store = Assert.IsType<InMemoryStore>(provider.GetRequiredService<IReferralStore>());
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("anna") }, Ct);
        Assert.NotNull(await ((IReferralStore)store).FindCodeAsync(code.Code, Ct));
    }

    [Fact]
    public async Task TheSqliteStoreKeepsEverythingInOneWalFileAcrossRestarts()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-");
        try
        {
            string databasePath = Path.Combine(folder.FullName, "referrals.db");
            ReferralCode issued;
            {
                #region Stores.Sqlite
                var builder = Host.CreateApplicationBuilder();
                builder.Services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
                    .UseSqlite($"Data Source={databasePath}");
                using var host = builder.Build();
                await host.StartAsync();   // validates the settings, creates or migrates the file, loads the code index
                #endregion

                var codes = host.Services.GetRequiredService<ReferralCodeService>();
                issued = (await codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("anna") }, Ct)).Code;
                await host.StopAsync(Ct);
            }

            // The file exists, is in WAL mode, and records its migrations.
            Assert.True(File.Exists(databasePath));
            await using (var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False"))
            {
                await connection.OpenAsync(Ct);
                await using var mode = connection.CreateCommand();
                mode.CommandText = "PRAGMA journal_mode;";
                Assert.Equal("wal", (string?)await mode.ExecuteScalarAsync(Ct));
                await using var migrations = connection.CreateCommand();
                migrations.CommandText = "SELECT count(*) FROM schema_migrations WHERE version = 1;";
                Assert.Equal(1L, (long?)await migrations.ExecuteScalarAsync(Ct));
            }

            // A new host on the same file: the code issued before resolves from the index loaded at start.
            var again = Host.CreateApplicationBuilder();
            again.Services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
                .UseSqlite($"Data Source={databasePath}");
            using (var host = again.Build())
            {
                await host.StartAsync(Ct);
                var resolved = host.Services.GetRequiredService<ReferralCodeService>().Resolve(issued.Value);
                Assert.Equal(CodeResolutionOutcome.Found, resolved.Outcome);
                Assert.Equal(new ParticipantId("anna"), resolved.Owner);
                await host.StopAsync(Ct);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AConsoleAppWithoutAHostLoadsTheIndexItself()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-");
        try
        {
            string databasePath = Path.Combine(folder.FullName, "referrals.db");
            ReferralCode issued;
            await using (var first = Provider(databasePath))
            {
                issued = (await first.GetRequiredService<ReferralCodeService>().IssueAsync(
                    new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("anna") }, Ct)).Code;
            }

            #region Stores.SqliteWithoutHost
            var services = new ServiceCollection();
            services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
                .UseSqlite($"Data Source={databasePath}");
            await using var provider = services.BuildServiceProvider();
            var codes = provider.GetRequiredService<ReferralCodeService>();
            await codes.InitializeAsync();   // once at start: loads the codes already in the file into the index
            #endregion

            Assert.Equal(1, codes.IndexedCount);
            Assert.Equal(CodeResolutionOutcome.Found, codes.Resolve(issued.Value).Outcome);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }

        static ServiceProvider Provider(string path)
        {
            var services = new ServiceCollection();
            services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" }).UseSqlite($"Data Source={path}");
            return services.BuildServiceProvider();
        }
    }

    [Fact]
    public async Task ABatchOfConversionsIsOneTransaction()
    {
        await using var app = await DocsServices.StartAsync(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" });
        var clock = app.Clock;
        var program = new ProgramId("customers");
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("anna") }, Ct);
        var attribution = app.Get<AttributionService>();

        #region Stores.Batch
        var tillDay = new List<Conversion>
        {
            new() { Program = program, OrderId = "pos-0001", Customer = new ParticipantId("ben"), Channel = Channel.Offline, StoreId = "berlin-1",
                    Amount = new Money(35.00m, "EUR"), EventTime = clock.GetCurrentInstant(), PresentedCode = code.Display },
            new() { Program = program, OrderId = "pos-0002", Customer = new ParticipantId("cleo"), Channel = Channel.Offline, StoreId = "berlin-1",
                    Amount = new Money(12.50m, "EUR"), EventTime = clock.GetCurrentInstant() },
        };
        var decided = await attribution.RecordConversionsAsync(tillDay);   // one transaction: all of them or none
        #endregion

        Assert.Equal(["pos-0001", "pos-0002"], decided.Select(d => d.OrderId));
        Assert.True(decided[0].IsAttributed);
        Assert.False(decided[1].IsAttributed);

        // One invalid conversion in a list: nothing of the list is recorded.
        var bad = new List<Conversion>
        {
            tillDay[0] with { OrderId = "pos-0003" },
            tillDay[1] with { OrderId = "" },
        };
        await Assert.ThrowsAsync<ArgumentException>(async () => await attribution.RecordConversionsAsync(bad, Ct));
        Assert.Null(await attribution.FindAttributionAsync(program, "pos-0003", Ct));
    }

    [Fact]
    public async Task YourOwnStoreIsTheOneTheServicesRunOn()
    {
        #region Stores.Register
        IReferralStore myStore = new InMemoryStore();   // your implementation of the contract
        var services = new ServiceCollection();
        services.AddSingleton(myStore);                 // registered before AddReferrals: the services run on it
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
            .AddCodeIndexRefresh();                     // a durable store: load the code index at start, follow other processes
        #endregion

        await using var provider = services.BuildServiceProvider();
        Assert.Same(myStore, provider.GetRequiredService<IReferralStore>());
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("cem") }, Ct);
        Assert.NotNull(await myStore.FindParticipantAsync(new ParticipantId("cem"), Ct));
        Assert.Contains(provider.GetServices<IHostedService>(), s => s.GetType().Name == "CodeIndexService");
    }
}

#region Stores.ContractTests
public sealed class InMemoryStoreContractTests : ReferralStoreContract
{
    // A new, empty store for every test: a fresh file, database or schema for a durable store.
    protected override ValueTask<IReferralStore> CreateStoreAsync() => new(new InMemoryStore());
}
#endregion
