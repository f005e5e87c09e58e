using Referrals.Sqlite;
using Referrals.Store.Tests.Support;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>The stores one test opened, each on a new file in a temp directory of the test's own, all deleted afterwards.</summary>
internal sealed class SqliteStores : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteReferralStore> _opened = [];

    public SqliteReferralStore OpenNew()
    {
        var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        _opened.Add(store);
        return store;
    }

    public void Dispose()
    {
        foreach (var store in _opened)
        {
            store.Dispose();
        }
        _directory.Dispose();
    }
}
