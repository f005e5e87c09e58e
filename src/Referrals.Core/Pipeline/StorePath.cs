using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// Which store the services of one container run on, decided once by dependency injection: the narrow contract when an
/// <see cref="IReferralStore"/> is registered, or when the default in-memory store was left in place (then on an
/// <see cref="InMemoryStore"/>); today's store interfaces when a host registered its own for them (the SQLite store,
/// until it implements the contract). Goes away with the old interfaces.
/// </summary>
internal sealed class StorePath(IReferralStore? contract)
{
    /// <summary>The store of the contract, or <see langword="null"/> for today's interfaces.</summary>
    public IReferralStore? Contract { get; } = contract;

    public static StorePath Choose(IReferralStore? registered, IConversionStore conversions) =>
        new(registered ?? (conversions is InMemoryReferralStore ? new InMemoryStore() : null));

    /// <summary>
    /// Chooses the store and, on the contract, builds once the derived rows of the programs the store carried over from
    /// an earlier format (<see cref="StoreRebuild"/>) before any service reads them: opening an upgraded database
    /// finishes its upgrade, as the store's own migrations do when it opens.
    /// </summary>
    public static StorePath Open(IReferralStore? registered, IConversionStore conversions, ReferralsOptions options)
    {
        var path = Choose(registered, conversions);
        if (path.Contract is { } store)
        {
            // Dependency injection resolves synchronously; this runs once per container, before the first operation.
            StoreRebuild.RunAsync(store, SessionConversionPipeline.CompileRules(options), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        return path;
    }
}
