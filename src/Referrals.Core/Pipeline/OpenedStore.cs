using Referrals.Programs;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The store the services of one container run on, opened once by dependency injection: before the first operation, the
/// derived rows of the programs the store carried over from an earlier format are built (<see cref="StoreRebuild"/>), as
/// the store's own migrations run when it opens.
/// </summary>
internal sealed class OpenedStore
{
    private OpenedStore(IReferralStore store) => Store = store;

    public IReferralStore Store { get; }

    public static OpenedStore Open(IReferralStore store, ReferralsOptions options)
    {
        // Dependency injection resolves synchronously; this runs once per container.
        StoreRebuild.RunAsync(store, SessionConversionPipeline.CompileRules(options), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return new OpenedStore(store);
    }
}
