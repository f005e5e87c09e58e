using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// What the notification dispatcher needs of the store: the outbox's delivery state, and what a notification reports read
/// back by key (an order's document, a reward's entries, a touch).
/// </summary>
internal sealed class OutboxPort(IReferralStore store)
{
    public ValueTask<IReadOnlyList<PendingNotification>> ListDueAsync(Instant now, int limit, CancellationToken ct) => store.ListDueNotificationsAsync(now, limit, ct);

    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredAsync(int limit, CancellationToken ct) => store.ListDeadLetteredNotificationsAsync(limit, ct);

    public ValueTask<IReadOnlyList<string>> TryUpdateAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken ct) => store.TryUpdateNotificationsAsync(updates, ct);

    public ValueTask AcknowledgeAsync(IReadOnlyList<string> ids, CancellationToken ct) => store.AcknowledgeNotificationsAsync(ids, ct);

    /// <summary>What a notification reports, read from the store; <see langword="null"/> when it is not stored.</summary>
    public async ValueTask<object?> ReadPayloadAsync(PendingNotification n, CancellationToken ct)
    {
        switch (n.Kind)
        {
            case NotificationKind.ConversionDecided:
                if (n.OrderId is null || await store.FindOrderAsync(n.Program, n.OrderId, ct).ConfigureAwait(false) is not { } order)
                {
                    return null;
                }
                return OrderDocument.FromRow(order).Attribution;
            case NotificationKind.RewardChanged:
                if (n.RewardId is null || n.EntryId is null)
                {
                    return null;
                }
                foreach (var row in await store.ListEntriesAsync(n.Program, n.RewardId, ct).ConfigureAwait(false))
                {
                    if (string.Equals(row.EntryId, n.EntryId, StringComparison.Ordinal))
                    {
                        return RewardDocuments.FromRow(row);
                    }
                }
                return null;
            default:
                return n.TouchId is null ? null : await store.FindTouchAsync(n.Program, n.TouchId, ct).ConfigureAwait(false);
        }
    }
}
