using Microsoft.Extensions.DependencyInjection;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.PostgreSql.Tests;

/// <summary><see cref="EventTimeRewardTests"/> on PostgreSQL, each process an engine on the test's schema.</summary>
public sealed class PostgreSqlEventTimeRewardTests(DatabaseFixture database) : EventTimeRewardTests, IClassFixture<DatabaseFixture>
{
    protected override string NewDatabase() => database.NewSchemaName();

    protected override void UseStore(ReferralsBuilder builder, string schema) => builder.UsePostgreSql(database.ConnectionString, o => o.Schema = schema);
}
