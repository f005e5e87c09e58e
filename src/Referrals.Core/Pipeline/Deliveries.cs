using Referrals.Notifications;

namespace Referrals.Pipeline;

/// <summary>
/// What a unit of work tells the notifiers once it has committed, collected while it runs, in the order the changes were
/// made: the outbox's notifications with what they report, or (without an outbox) direct once-only tells. The
/// <see cref="NotificationDispatcher"/> delivers them after the commit; nothing is told inside a transaction. Not
/// thread-safe; one per unit of work.
/// </summary>
internal sealed class Deliveries
{
    private List<Item>? _items;

    /// <summary>True when nothing is to be told.</summary>
    public bool IsEmpty => _items is null;

    /// <summary>The deliveries, in the order added.</summary>
    public IReadOnlyList<Item> Items => _items ?? (IReadOnlyList<Item>)[];

    /// <summary>Adds a notification written to the outbox in this unit, with what it reports.</summary>
    public void Add(PendingNotification notification, object payload) => (_items ??= []).Add(new Item(notification.Kind, notification, payload));

    /// <summary>Adds a direct tell, once, without the outbox (no notification can be kept).</summary>
    public void Tell(NotificationKind kind, object payload) => (_items ??= []).Add(new Item(kind, null, payload));

    /// <summary>Forgets what was delivered (a unit without a transaction delivers after each of its writes).</summary>
    public void Clear() => _items = null;

    /// <summary>One thing to tell: an outbox notification, or (<see cref="Notification"/> null) a direct tell.</summary>
    public readonly record struct Item(NotificationKind Kind, PendingNotification? Notification, object Payload);
}
