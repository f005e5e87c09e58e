using NodaTime;
using Referrals.Notifications;

namespace Referrals.Storage;

/// <summary>
/// A new delivery state for a pending notification, written only if the stored one still has the due instant the writer
/// read (see <see cref="IReferralStore.TryUpdateNotificationsAsync"/>): every change of delivery state moves
/// <see cref="PendingNotification.DueAt"/>, so a writer that lost a race to another process changes nothing.
/// </summary>
public readonly struct NotificationUpdate
{
    /// <summary>An update (Core writes them; the contract suite too).</summary>
    /// <param name="notification">The notification with its new delivery state (the fields it was committed with stay).</param>
    /// <param name="expectedDueAt">The <see cref="PendingNotification.DueAt"/> the writer read.</param>
    public NotificationUpdate(PendingNotification notification, Instant expectedDueAt)
    {
        Notification = notification;
        ExpectedDueAt = expectedDueAt;
    }

    /// <summary>The notification with its new delivery state (the fields it was committed with stay).</summary>
    public PendingNotification Notification { get; }

    /// <summary>The <see cref="PendingNotification.DueAt"/> the writer read.</summary>
    public Instant ExpectedDueAt { get; }

    internal void Deconstruct(out PendingNotification notification, out Instant expectedDueAt)
    {
        notification = Notification;
        expectedDueAt = ExpectedDueAt;
    }
}
