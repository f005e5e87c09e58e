using NodaTime;
using Referrals.Notifications;

namespace Referrals.Storage;

/// <summary>
/// A new delivery state for a pending notification, written only if the stored one still has the due instant the writer
/// read (see <see cref="IReferralStore.TryUpdateNotificationsAsync"/>): every change of delivery state moves
/// <see cref="PendingNotification.DueAt"/>, so a writer that lost a race to another process changes nothing.
/// </summary>
/// <param name="Notification">The notification with its new delivery state (the fields it was committed with stay).</param>
/// <param name="ExpectedDueAt">The <see cref="PendingNotification.DueAt"/> the writer read.</param>
public readonly record struct NotificationUpdate(PendingNotification Notification, Instant ExpectedDueAt);
