using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Notifications;

/// <summary>
/// Told of the state changes a person cares about. Register any number through DI. A notifier lets its exceptions
/// propagate: the library catches, logs and counts them, and never fails or rolls back the change it reports.
/// </summary>
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
