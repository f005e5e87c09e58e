using Referrals.Storage;
using Referrals.Store.Tests.Contracts;

namespace Referrals.Store.Tests.InMemory;

public sealed class InMemoryReferralCodeStoreTests : ReferralCodeStoreContract
{
    protected override IReferralCodeStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryParticipantStoreTests : ParticipantStoreContract
{
    protected override IParticipantStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryTouchStoreTests : TouchStoreContract
{
    protected override ITouchStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryConversionStoreTests : ConversionStoreContract
{
    protected override IConversionStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryUnitOfWorkTests : UnitOfWorkContract
{
    protected override (IConversionStore Conversions, IRewardStore Rewards) CreateStore()
    {
        var store = new InMemoryReferralStore();
        return (store, store);
    }
}

public sealed class InMemoryRewardStoreTests : RewardStoreContract
{
    protected override IRewardStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryFraudStoreTests : FraudStoreContract
{
    protected override IFraudStore CreateStore() => new InMemoryReferralStore();
}

public sealed class InMemoryNotificationOutboxTests : NotificationOutboxContract
{
    protected override IRewardStore CreateStore() => new InMemoryReferralStore();
}
