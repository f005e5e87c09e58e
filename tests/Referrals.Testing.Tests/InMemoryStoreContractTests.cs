using Referrals.Storage;

namespace Referrals.Testing.Tests;

/// <summary>The store contract suite against the reference in-memory store, as a host runs it against its own store.</summary>
public sealed class InMemoryStoreContractTests : ReferralStoreContract
{
    protected override ValueTask<IReferralStore> CreateStoreAsync() => new(new InMemoryStore());
}
