using Referrals.PostgreSql.Tests.Support;
using Referrals.Storage;
using Referrals.Testing;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The store contract suite (Referrals.Testing) against <see cref="PostgreSqlReferralStore"/>: each store opened from a
/// connection string on a new schema of the class's database, as a host opens it.
/// </summary>
public sealed class PostgreSqlStoreContractTests(DatabaseFixture database) : ReferralStoreContract, IClassFixture<DatabaseFixture>
{
    protected override async ValueTask<IReferralStore> CreateStoreAsync() =>
        await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = database.NewSchemaName() }, Ct);
}
