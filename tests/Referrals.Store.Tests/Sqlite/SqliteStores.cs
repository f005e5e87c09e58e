using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Contracts;
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

public sealed class SqliteReferralCodeStoreTests : ReferralCodeStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IReferralCodeStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteParticipantStoreTests : ParticipantStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IParticipantStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteTouchStoreTests : TouchStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override ITouchStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteConversionStoreTests : ConversionStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IConversionStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteRewardStoreTests : RewardStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IRewardStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteNotificationOutboxTests : NotificationOutboxContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IRewardStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteFraudStoreTests : FraudStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override IFraudStore CreateStore() => _stores.OpenNew();

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteUnitOfWorkTests : UnitOfWorkContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override (IConversionStore Conversions, IRewardStore Rewards) CreateStore()
    {
        var store = _stores.OpenNew();
        return (store, store);
    }

    public void Dispose() => _stores.Dispose();
}

public sealed class SqliteTransactionalStoreTests : TransactionalStoreContract, IDisposable
{
    private readonly SqliteStores _stores = new();

    protected override (ITransactionalStore Transactions, IConversionStore Conversions, ITouchStore Touches, IRewardStore Rewards) CreateStore()
    {
        var store = _stores.OpenNew();
        return (store, store, store, store);
    }

    public void Dispose() => _stores.Dispose();
}
