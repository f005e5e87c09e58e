using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.PostgreSql.Tests;

/// <summary><see cref="RewardServiceTests"/> on PostgreSQL (AddReferrals + UsePostgreSql), each process a new engine on the test's schema.</summary>
public sealed class PostgreSqlRewardServiceTests(DatabaseFixture database) : RewardServiceTests, IClassFixture<DatabaseFixture>
{
    protected override string NewDatabase() => database.NewSchemaName();

    protected override ServiceProvider Build(string schema, IClock clock) => PostgreSqlEngine.Build(database.ConnectionString, schema, clock);
}
