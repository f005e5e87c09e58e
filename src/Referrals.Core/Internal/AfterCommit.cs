using Referrals.Notifications;
using Referrals.Storage;

namespace Referrals.Internal;

/// <summary>
/// What to do once a store transaction has committed — tell the notifiers — collected while the transaction runs, run
/// after it in the order added. The outbox's notifications of the whole unit of work (one conversion, or a batch) are
/// settled with one write at the end: removed when every notifier took them, kept with their failed attempt otherwise.
/// Not thread-safe; one per unit of work.
/// </summary>
internal sealed class AfterCommit
{
    private List<Item>? _items;

    /// <summary>Adds an action (telling notifiers directly, without the outbox); it is responsible for its own failures.</summary>
    public void Add(Func<CancellationToken, ValueTask> action) => (_items ??= []).Add(new Item(action, null, null, null));

    /// <summary>Adds a committed notification of <paramref name="outbox"/> to deliver, with what it reports.</summary>
    public void Deliver(NotificationOutbox outbox, PendingNotification notification, object payload) =>
        (_items ??= []).Add(new Item(null, outbox, notification, payload));

    /// <summary>Runs the actions and deliveries added, then records what the deliveries achieved in one write.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled: what was not recorded is delivered again by a lifecycle pass.</exception>
    public async ValueTask RunAsync(CancellationToken cancellationToken)
    {
        if (_items is null)
        {
            return;
        }
        NotificationOutbox? outbox = null;
        List<string>? delivered = null;
        List<NotificationUpdate>? failed = null;
        foreach (var item in _items)
        {
            if (item.Action is { } action)
            {
                await action(cancellationToken).ConfigureAwait(false);
                continue;
            }
            outbox = item.Outbox!;
            if (await outbox.TellAsync(item.Notification!, item.Payload!, cancellationToken).ConfigureAwait(false) is { } failure)
            {
                (failed ??= []).Add(failure);
            }
            else
            {
                (delivered ??= []).Add(item.Notification!.Id);
            }
        }
        if (outbox is not null)
        {
            await outbox.RecordAsync(delivered ?? (IReadOnlyList<string>)[], failed, cancellationToken).ConfigureAwait(false);
        }
    }

    private readonly record struct Item(Func<CancellationToken, ValueTask>? Action, NotificationOutbox? Outbox, PendingNotification? Notification, object? Payload);
}
