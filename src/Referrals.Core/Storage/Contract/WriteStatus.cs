namespace Referrals.Storage;

/// <summary>What <see cref="IReferralStoreSession.WriteAsync"/> did with a unit of work.</summary>
/// <remarks>The numeric values may be stored or logged; never renumber them.</remarks>
public enum WriteStatus
{
    /// <summary>Every row of the unit was written (visible to the session, published by its commit).</summary>
    Written = 1,

    /// <summary>
    /// A versioned row (code, order, summary or reward), written or only read, did not have the version the unit
    /// expected; nothing of the unit was written. Core reads again and decides again.
    /// </summary>
    Conflict = 2,

    /// <summary>
    /// A row with a natural key that exists already (code, touch, order at version 1, refund, ledger entry, notification,
    /// erasure); nothing of the unit was written. Core treats the operation as done before, or, for a code, draws another.
    /// </summary>
    Duplicate = 3,
}
