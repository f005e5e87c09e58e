using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Referrals.Codes;
using Referrals.PostgreSql;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;
using Referrals.PostgreSql.Tests.Support;

namespace Referrals.Docs;

/// <summary>The PostgreSQL code of docs/stores.md and of the package's README, run against the test server.</summary>
public sealed class PostgreSqlSnippets
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ThePostgreSqlStoreKeepsEverythingInASchemaSharedByInstances()
    {
        var server = await PostgreSqlServer.GetAsync();
        var (database, connectionString) = await server.CreateDatabaseAsync("docs_", Ct);
        try
        {
            ReferralCode issued;
            {
                #region Stores.PostgreSql
                var builder = Host.CreateApplicationBuilder();
                builder.Services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
                    .UsePostgreSql(connectionString, o => o.Schema = "referrals");
                using var host = builder.Build();
                await host.StartAsync();   // validates the settings, creates or migrates the schema, loads the code index, starts listening
                #endregion

                var codes = host.Services.GetRequiredService<ReferralCodeService>();
                issued = (await codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("anna") }, Ct)).Code;
                await host.StopAsync(Ct);
            }

            // A second instance on a data source of its own finds the schema migrated and the code there.
            {
                var services = new ServiceCollection();
                #region Stores.PostgreSqlDataSource
                await using var dataSource = NpgsqlDataSource.Create(connectionString);
                services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" })
                    .UsePostgreSql(dataSource);
                #endregion
                await using var provider = services.BuildServiceProvider();
                var store = provider.GetRequiredService<IReferralStore>();
                Assert.IsType<PostgreSqlReferralStore>(store);
                Assert.NotNull(await store.FindCodeAsync(issued, Ct));
                await using var migrations = dataSource.CreateCommand("SELECT count(*) FROM referrals.schema_migrations;");
                Assert.True((long)(await migrations.ExecuteScalarAsync(Ct))! >= 1);
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await server.DropDatabaseAsync(database, Ct);
        }
    }

    [Fact]
    public async Task ThePackageReadmeRegistersTheStore()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();

        #region PostgreSql.Register
        services.AddReferrals(configuration).UsePostgreSql("Host=localhost;Database=shop;Username=app;Password=secret");
        #endregion

        // Registration checks the connection string and connects on first use only.
        await using var provider = services.BuildServiceProvider();
        Assert.IsType<PostgreSqlReferralStore>(provider.GetRequiredService<IReferralStore>());
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddReferrals(configuration).UsePostgreSql("Host=;Database=shop"));
    }
}
