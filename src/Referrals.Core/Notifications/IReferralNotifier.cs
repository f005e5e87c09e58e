using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Notifications;

/// <summary>
/// Told of the state changes a person cares about. Register any number through DI. A notifier lets its exceptions
/// propagate: the library catches, logs and counts them, never fails or rolls back the change it reports, and tells that
/// notifier again later (see <see cref="PendingNotification"/>); the other notifiers are not told again.
/// </summary>
/// <remarks>
/// <para>
/// Each notification is delivered at least once to each notifier, and rarely more than once: make a notifier idempotent
/// by the ids it is given (reward and entry id, order id, touch id). An <see cref="OperationCanceledException"/> of the
/// notifier's own (an HTTP timeout) counts as a failure; only the cancellation token passed in stops the delivery.
/// </para>
/// <para>
/// The library records which notifiers took a notification by name: the notifier's type's full name, and for a second
/// or later instance of the same type that name with <c>#2</c>, <c>#3</c>, ... in registration order. Keep the names
/// stable across restarts (the same types registered in the same order), or a notifier may be told again of what it
/// took before a restart; a notification waiting for a notifier that is no longer registered is delivered to the others
/// and then removed.
/// </para>
/// </remarks>
public interface IReferralNotifier
{
    /// <summary>A touch of a referral was recorded (a link click, a code scanned at a till, ...).</summary>
    ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken);

    /// <summary>A conversion was decided, or decided anew after a late touch; see <see cref="AttributionResult.IsAttributed"/>.</summary>
    ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken);

    /// <summary>
    /// A reward changed: earned (pending), approved, fulfilled, rejected, cancelled, adjusted or clawed back; see
    /// <see cref="RewardEntry.Type"/>. The default does nothing.
    /// </summary>
    ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
