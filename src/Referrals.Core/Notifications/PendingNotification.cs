using NodaTime;

namespace Referrals.Notifications;

/// <summary>What a <see cref="PendingNotification"/> tells the notifiers about.</summary>
public enum NotificationKind
{
    /// <summary>A conversion was decided: <see cref="IReferralNotifier.OnConversionDecidedAsync"/> with the order's attribution.</summary>
    ConversionDecided = 1,

    /// <summary>A reward changed: <see cref="IReferralNotifier.OnRewardChangedAsync"/> with the ledger entry <see cref="PendingNotification.EntryId"/>.</summary>
    RewardChanged = 2,

    /// <summary>A touch was recorded: <see cref="IReferralNotifier.OnReferralCapturedAsync"/> with the touch <see cref="PendingNotification.TouchId"/>.</summary>
    ReferralCaptured = 3,
}

/// <summary>
/// A notification written in the same unit of work as the change it reports (the transactional outbox), so that neither a
/// process stopping between the commit and the notifiers nor a notifier that throws can lose it. The library tells the
/// notifiers right after the commit and removes the notification once every registered notifier was told. A notifier
/// that threw is tried again by <c>RewardService.ProcessDueAsync</c> with exponential backoff
/// (<see cref="NotificationOptions"/>), and only the notifiers not yet told are told again (<see cref="NotifiersTold"/>);
/// after <see cref="NotificationOptions.MaxAttempts"/> attempts it is dead-lettered (<see cref="DeadLetteredAt"/>): kept,
/// no longer tried, listed by <c>RewardService.ListDeadLetteredNotificationsAsync</c> until re-queued.
/// One a process left before telling anyone is due a minute after its commit.
/// </summary>
/// <remarks>
/// <para>
/// Delivery is at least once per notifier: a notifier may, rarely, hear of one change twice (its process stopped before
/// recording who was told, or two processes' lifecycle passes overlapped), so notifiers should be idempotent by
/// <see cref="Rewards.RewardEntry.RewardId"/> and <see cref="Rewards.RewardEntry.EntryId"/> together (entry ids are unique
/// per reward), by order id, or by <see cref="Attribution.Touch.Id"/>.
/// </para>
/// <para>
/// It holds references, not copies: a delivery after the first reads the attribution, ledger entry or touch from the
/// store, so no personal data is duplicated into the outbox; of a failure it keeps the exception's type, never its message.
/// Stores keep it until acknowledged; see the store contract, <c>Referrals.Storage.IReferralStore</c>. Two notifications are equal when every
/// property is, lists compared by their elements.
/// </para>
/// </remarks>
public sealed record PendingNotification
{
    /// <summary>
    /// A notification with every field: Core writes one this way, and a store reads one back this way (no field can be
    /// left out). Only Core changes a notification's delivery state.
    /// </summary>
    /// <param name="id">The unique id.</param>
    /// <param name="kind">What changed.</param>
    /// <param name="program">The program.</param>
    /// <param name="orderId">The order, or <see langword="null"/> (see <see cref="OrderId"/>).</param>
    /// <param name="entryId">The ledger entry, or <see langword="null"/>.</param>
    /// <param name="rewardId">The reward of the ledger entry, or <see langword="null"/>.</param>
    /// <param name="touchId">The touch, or <see langword="null"/>.</param>
    /// <param name="recordedAt">When the change was committed.</param>
    /// <param name="dueAt">When a lifecycle pass may next try to deliver it.</param>
    /// <param name="attempts">Failed delivery attempts so far.</param>
    /// <param name="firstAttemptAt">When the first failed attempt was made, or <see langword="null"/>.</param>
    /// <param name="lastAttemptAt">When the latest failed attempt was made, or <see langword="null"/>.</param>
    /// <param name="notifiersTold">The names of the notifiers that have been told.</param>
    /// <param name="failures">The notifiers the latest attempt failed for.</param>
    /// <param name="deadLetteredAt">When it was dead-lettered, or <see langword="null"/>.</param>
    public PendingNotification(string id, NotificationKind kind, ProgramId program, string? orderId, string? entryId, string? rewardId,
        string? touchId, Instant recordedAt, Instant dueAt, int attempts, Instant? firstAttemptAt, Instant? lastAttemptAt,
        IReadOnlyList<string> notifiersTold, IReadOnlyList<NotifierFailure> failures, Instant? deadLetteredAt)
    {
        Id = id;
        Kind = kind;
        Program = program;
        OrderId = orderId;
        EntryId = entryId;
        RewardId = rewardId;
        TouchId = touchId;
        RecordedAt = recordedAt;
        DueAt = dueAt;
        Attempts = attempts;
        FirstAttemptAt = firstAttemptAt;
        LastAttemptAt = lastAttemptAt;
        NotifiersTold = notifiersTold;
        Failures = failures;
        DeadLetteredAt = deadLetteredAt;
    }

    /// <summary>A notification as Core commits it: never attempted, no notifier told yet.</summary>
    internal static PendingNotification Undelivered(string id, NotificationKind kind, ProgramId program, Instant recordedAt, Instant dueAt,
        string? orderId = null, string? entryId = null, string? rewardId = null, string? touchId = null) =>
        new(id, kind, program, orderId, entryId, rewardId, touchId, recordedAt, dueAt, attempts: 0, firstAttemptAt: null, lastAttemptAt: null,
            notifiersTold: [], failures: [], deadLetteredAt: null);

    /// <summary>A unique id (32 hexadecimal digits from <see cref="System.Security.Cryptography.RandomNumberGenerator"/>).</summary>
    public string Id { get; internal init; }

    /// <summary>What changed.</summary>
    public NotificationKind Kind { get; internal init; }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>
    /// The order the change belongs to, for <see cref="NotificationKind.ConversionDecided"/> and
    /// <see cref="NotificationKind.RewardChanged"/>; <see langword="null"/> for <see cref="NotificationKind.ReferralCaptured"/>.
    /// </summary>
    public string? OrderId { get; internal init; }

    /// <summary>The ledger entry, for <see cref="NotificationKind.RewardChanged"/>; otherwise <see langword="null"/>.</summary>
    public string? EntryId { get; internal init; }

    /// <summary>
    /// The reward of the ledger entry <see cref="EntryId"/> (entry ids are unique per reward), for
    /// <see cref="NotificationKind.RewardChanged"/>; otherwise <see langword="null"/>. Also <see langword="null"/> on
    /// notifications stored by a version of the library that did not record it; their entry id alone names the entry.
    /// </summary>
    public string? RewardId { get; internal init; }

    /// <summary>The touch (<see cref="Attribution.Touch.Id"/>), for <see cref="NotificationKind.ReferralCaptured"/>; otherwise <see langword="null"/>.</summary>
    public string? TouchId { get; internal init; }

    /// <summary>When the change was committed (the library's clock).</summary>
    public Instant RecordedAt { get; internal init; }

    /// <summary>
    /// When a lifecycle pass may next try to deliver it: a minute after <see cref="RecordedAt"/> until the first attempt
    /// failed (the committing process tells the notifiers itself), then after each failed attempt the backoff of
    /// <see cref="NotificationOptions"/>. Stores find due notifications by it; see <c>IReferralStore.ListDueNotificationsAsync</c> of the store contract.
    /// </summary>
    public Instant DueAt { get; internal init; }

    /// <summary>Delivery attempts so far, each of which left at least one notifier untold; 0 until one fails.</summary>
    public int Attempts { get; internal init; }

    /// <summary>When the first failed attempt was made, or <see langword="null"/> before one.</summary>
    public Instant? FirstAttemptAt { get; internal init; }

    /// <summary>When the latest failed attempt was made, or <see langword="null"/> before one.</summary>
    public Instant? LastAttemptAt { get; internal init; }

    /// <summary>
    /// The names of the notifiers that have been told (see <see cref="IReferralNotifier"/> for how notifiers are named):
    /// later attempts skip them. Empty until an attempt failed for some other notifier.
    /// </summary>
    public IReadOnlyList<string> NotifiersTold { get; internal init; }

    /// <summary>The notifiers the latest attempt failed for, each with the type of the exception it threw; empty before one.</summary>
    public IReadOnlyList<NotifierFailure> Failures { get; internal init; }

    /// <summary>
    /// When it was moved to the dead-letter state after <see cref="NotificationOptions.MaxAttempts"/> failed attempts, or
    /// <see langword="null"/> while it is still tried. A dead letter is kept and not tried again until re-queued
    /// (<c>RewardService.RequeueDeadLetteredNotificationsAsync</c>).
    /// </summary>
    public Instant? DeadLetteredAt { get; internal init; }

    /// <inheritdoc />
    public bool Equals(PendingNotification? other) =>
        other is not null
        && Id == other.Id && Kind == other.Kind && Program == other.Program && OrderId == other.OrderId
        && EntryId == other.EntryId && RewardId == other.RewardId && TouchId == other.TouchId
        && RecordedAt == other.RecordedAt && DueAt == other.DueAt && Attempts == other.Attempts
        && FirstAttemptAt == other.FirstAttemptAt && LastAttemptAt == other.LastAttemptAt && DeadLetteredAt == other.DeadLetteredAt
        && NotifiersTold.SequenceEqual(other.NotifiersTold, StringComparer.Ordinal) && Failures.SequenceEqual(other.Failures);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, Kind, Program, DueAt, Attempts);
}

/// <summary>A notifier that threw when told of a notification, and the type of its exception (never its message).</summary>
/// <remarks>Compared by value (<see cref="ValueType.Equals(object)"/>): both fields are ordinal strings.</remarks>
public readonly struct NotifierFailure
{
    /// <summary>A failure, as Core records it or a store reads it back.</summary>
    /// <param name="notifier">The notifier's name (see <see cref="IReferralNotifier"/>).</param>
    /// <param name="errorType">The full name of the exception's type, for example <c>System.Net.Http.HttpRequestException</c>.</param>
    public NotifierFailure(string notifier, string errorType)
    {
        Notifier = notifier;
        ErrorType = errorType;
    }

    /// <summary>The notifier's name (see <see cref="IReferralNotifier"/>).</summary>
    public string Notifier { get; }

    /// <summary>The full name of the exception's type, for example <c>System.Net.Http.HttpRequestException</c>.</summary>
    public string ErrorType { get; }
}
