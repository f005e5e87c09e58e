using Referrals.Storage;
using Xunit;

namespace Referrals.Testing;

/// <summary>
/// The store contract suite: what every <see cref="IReferralStore"/> must do, as tests. A store's test project derives
/// a class from this one and implements <see cref="CreateStoreAsync"/>; xunit v3 runs the inherited tests against it.
/// </summary>
/// <example>
/// <code>
/// public sealed class MyStoreContractTests : ReferralStoreContract
/// {
///     protected override ValueTask&lt;IReferralStore&gt; CreateStoreAsync() =&gt; new(MyStore.CreateEmpty());
/// }
/// </code>
/// </example>
/// <remarks>
/// Each test asks for its own store (some for more than one) and never assumes another test ran first. A store that
/// implements <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/> is disposed after the test.
/// </remarks>
public abstract partial class ReferralStoreContract : IAsyncDisposable
{
    private readonly List<IReferralStore> _stores = [];

    /// <summary>A new, empty store that no other test uses (a fresh file, database or schema).</summary>
    protected abstract ValueTask<IReferralStore> CreateStoreAsync();

    /// <summary>The cancellation token of the running test.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async ValueTask<IReferralStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync();
        Assert.NotNull(store);
        _stores.Add(store);
        return store;
    }

    /// <summary>Disposes the stores the test created.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            if (store is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (store is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
        _stores.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Writes one unit in its own session and commits it if it was written.</summary>
    private static async Task<WriteOutcome> WriteAsync(IReferralStore store, UnitOfWork unit)
    {
        await using var session = await store.BeginAsync(Ct);
        var outcome = await session.WriteAsync(unit, Ct);
        if (outcome.Status == WriteStatus.Written)
        {
            await session.CommitAsync(Ct);
        }
        return outcome;
    }

    private static async Task WrittenAsync(IReferralStore store, UnitOfWork unit) =>
        Assert.Equal(WriteOutcome.Written, await WriteAsync(store, unit));
}
