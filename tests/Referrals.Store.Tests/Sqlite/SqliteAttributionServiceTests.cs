using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.Store.Tests.Sqlite;

/// <summary><see cref="AttributionServiceTests{TStore}"/> on the SQLite store: a restart reopens the file.</summary>
public sealed class SqliteAttributionServiceTests : AttributionServiceTests<SqliteReferralStore>, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    protected override string NewDatabase() => _directory.NewDatabasePath();

    protected override Task<SqliteReferralStore> OpenAsync(string database) => Task.FromResult(SqliteReferralStore.OpenFile(database));
}
