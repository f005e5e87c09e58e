using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using Referrals.Testing;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>The narrow store contract suite (Referrals.Testing) against <see cref="SqliteReferralStore"/>, each store on a new file.</summary>
public sealed class SqliteReferralStoreContractTests : ReferralStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override ValueTask<IReferralStore> CreateStoreAsync() =>
        new(SqliteReferralStore.OpenFile(_directory.NewDatabasePath()));

    public void Dispose() => _directory.Dispose();
}
