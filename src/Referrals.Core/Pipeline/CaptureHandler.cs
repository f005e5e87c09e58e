using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Notifications;

namespace Referrals.Pipeline;

/// <summary>
/// Capture: records a built touch (<see cref="TouchBuilder"/>) once by its natural id, with its "referral captured"
/// notification, in the caller's unit of work. Thread-safe.
/// </summary>
internal sealed class CaptureHandler(ReferralStores stores, NotificationDispatcher? outbox, NotifierSet notifiers)
{
    /// <summary>
    /// Records a built touch. With an outbox for captures (the reward service's dispatcher, which can read touches back) the
    /// touch's notification is kept until every notifier took it: inside a store transaction it is written with the
    /// touch; without one it is written first, so that a process stopping between the two writes cannot leave a touch
    /// whose notification was never written (a notification whose touch is missing is dropped by the lifecycle pass),
    /// and removed again when the touch turns out to be recorded before.
    /// </summary>
    public async ValueTask<CaptureResult> StoreAsync(Touch touch, CodeResolutionOutcome? outcome, Deliveries deliveries, CancellationToken ct)
    {
        if (outbox is not { KeepsCaptures: true })
        {
            if (!await stores.Touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
            ReferralsTelemetry.TouchesCaptured.Add(1);
            if (!notifiers.IsEmpty)
            {
                deliveries.Tell(NotificationKind.ReferralCaptured, touch);
            }
            return new CaptureResult(CaptureOutcome.Captured, CaptureRejection.None, touch, outcome);
        }
        var planned = outbox.PlanCaptured(touch, touch.RecordedAt);
        if (stores.Transaction is not null)
        {
            if (!await stores.Touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
            await outbox.WriteAsync(planned, ct).ConfigureAwait(false);
        }
        else
        {
            await outbox.WriteAsync(planned, ct).ConfigureAwait(false);
            if (!await stores.Touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                await outbox.DiscardAsync(planned, ct).ConfigureAwait(false);
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
        }
        deliveries.Add(planned, touch);
        ReferralsTelemetry.TouchesCaptured.Add(1);
        return new CaptureResult(CaptureOutcome.Captured, CaptureRejection.None, touch, outcome);
    }
}
