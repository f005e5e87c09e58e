using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Store.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.Store.Tests.Sqlite;

/// <summary><see cref="RewardServiceTests"/> on a SQLite file (AddReferrals + UseSqlite), each process a new engine on the file.</summary>
public sealed class SqliteRewardServiceTests : RewardServiceTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    protected override string NewDatabase() => _directory.NewDatabasePath();

    protected override ServiceProvider Build(string database, IClock clock) => SqliteEngine.Build(database, clock);
}
