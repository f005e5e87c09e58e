using Referrals.PostgreSql.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.PostgreSql.Tests;

/// <summary><see cref="AttributionServiceTests{TStore}"/> on the PostgreSQL store: a restart opens a new store on the test's schema.</summary>
public sealed class PostgreSqlAttributionServiceTests(DatabaseFixture database) : AttributionServiceTests<PostgreSqlReferralStore>, IClassFixture<DatabaseFixture>
{
    protected override string NewDatabase() => database.NewSchemaName();

    protected override Task<PostgreSqlReferralStore> OpenAsync(string schema) =>
        PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct);
}
