using NodaTime;

namespace Referrals.Notifications;

/// <summary>What a <see cref="PendingNotification"/> tells the notifiers about.</summary>
public enum NotificationKind
{
    /// <summary>A conversion was decided: <see cref="IReferralNotifier.OnConversionDecidedAsync"/> with the order's attribution.</summary>
    ConversionDecided = 1,

    /// <summary>A reward changed: <see cref="IReferralNotifier.OnRewardChangedAsync"/> with the ledger entry <see cref="PendingNotification.EntryId"/>.</summary>
    RewardChanged = 2,
}

/// <summary>
/// A notification written in the same unit of work as the change it reports (the transactional outbox), so that a
/// process stopping between the commit and the notifiers cannot lose it. The library tells the notifiers right after the
/// commit and then acknowledges it; one still pending a minute later (the process stopped in between) is delivered again
/// by <see cref="Rewards.RewardService.ProcessDueAsync"/>. Delivery is therefore at least once: a notifier may, rarely,
/// hear of one change twice, and should be idempotent by <see cref="Rewards.RewardEntry.RewardId"/> and
/// <see cref="Rewards.RewardEntry.EntryId"/> together (entry ids are unique per reward), or by order id.
/// </summary>
/// <remarks>
/// It holds references, not copies: a redelivery reads the attribution or ledger entry from the store, so no personal
/// data is duplicated into the outbox. Stores keep it until acknowledged; see <see cref="Storage.IRewardStore"/>.
/// </remarks>
public sealed record PendingNotification
{
    /// <summary>A unique id (32 hexadecimal digits from <see cref="System.Security.Cryptography.RandomNumberGenerator"/>).</summary>
    public required string Id { get; init; }

    /// <summary>What changed.</summary>
    public required NotificationKind Kind { get; init; }

    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>The order the change belongs to.</summary>
    public required string OrderId { get; init; }

    /// <summary>The ledger entry, for <see cref="NotificationKind.RewardChanged"/>; otherwise <see langword="null"/>.</summary>
    public string? EntryId { get; init; }

    /// <summary>
    /// The reward of the ledger entry <see cref="EntryId"/> (entry ids are unique per reward), for
    /// <see cref="NotificationKind.RewardChanged"/>; otherwise <see langword="null"/>. Also <see langword="null"/> on
    /// notifications stored by a version of the library that did not record it; their entry id alone names the entry.
    /// </summary>
    public string? RewardId { get; init; }

    /// <summary>When the change was committed (the library's clock).</summary>
    public required Instant RecordedAt { get; init; }
}
