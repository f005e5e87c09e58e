using Microsoft.Extensions.DependencyInjection;
using Referrals.Store.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.Store.Tests.Sqlite;

/// <summary><see cref="EventTimeRewardTests"/> on a real SQLite file.</summary>
public sealed class SqliteEventTimeRewardTests : EventTimeRewardTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    protected override string NewDatabase() => _directory.NewDatabasePath();

    protected override void UseStore(ReferralsBuilder builder, string database) => builder.UseSqlite($"Data Source={database}");
}
