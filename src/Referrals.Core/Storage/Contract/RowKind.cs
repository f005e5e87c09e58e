namespace Referrals.Storage;

/// <summary>Which kind of row a <see cref="WriteOutcome"/> of <see cref="WriteStatus.Conflict"/> or <see cref="WriteStatus.Duplicate"/> names.</summary>
/// <remarks>The numeric values may be stored or logged; never renumber them.</remarks>
public enum RowKind
{
    /// <summary>A code (<see cref="UnitOfWork.Codes"/>); the key is the normalised code.</summary>
    Code = 1,

    /// <summary>A touch (<see cref="UnitOfWork.Touches"/>); the key is the touch id.</summary>
    Touch = 2,

    /// <summary>An order (<see cref="UnitOfWork.Orders"/> or <see cref="UnitOfWork.ReadOrders"/>); the key is the order id.</summary>
    Order = 3,

    /// <summary>A refund (<see cref="UnitOfWork.Refunds"/>); the key is the refund id.</summary>
    Refund = 4,

    /// <summary>A ledger entry (<see cref="UnitOfWork.Entries"/>); the key is the reward id, <c>/</c>, the entry id.</summary>
    Entry = 5,

    /// <summary>A reward row (<see cref="UnitOfWork.Rewards"/>); the key is the reward id.</summary>
    Reward = 6,

    /// <summary>
    /// A summary (<see cref="UnitOfWork.Summaries"/> or <see cref="UnitOfWork.ReadSummaries"/>); the key is the participant
    /// id, <c>/</c>, the summary key.
    /// </summary>
    Summary = 7,

    /// <summary>A notification (<see cref="UnitOfWork.Notifications"/>); the key is the notification id.</summary>
    Notification = 8,

    /// <summary>An erasure (<see cref="UnitOfWork.Erasures"/>); the key is the erasure id.</summary>
    Erasure = 9,

    /// <summary>A program's pending rebuild (<see cref="UnitOfWork.RebuiltPrograms"/>), keyed by the program id.</summary>
    Rebuild = 10,
}
