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
                if (n.EntryId is null)
                {
                    return null;
                }
                if (n.RewardId is not null)
                {
                    return await FindEntryAsync(n.Program, n.RewardId, n.EntryId, ct).ConfigureAwait(false);
                }
                // Stored without its reward id (by a version before schema 4, when entry ids were unique in the program):
                // the entry of that id among the order's rewards, the first reward's first.
                if (n.OrderId is null)
                {
                    return null;
                }
                foreach (var reward in await store.ListOrderRewardsAsync(n.Program, n.OrderId, ct).ConfigureAwait(false))
                {
                    if (await FindEntryAsync(n.Program, reward.RewardId, n.EntryId, ct).ConfigureAwait(false) is { } entry)
                    {
                        return entry;
                    }
                }
                return null;
            default:
                return n.TouchId is null ? null : await store.FindTouchAsync(n.Program, n.TouchId, ct).ConfigureAwait(false);
        }
    }

    private async ValueTask<RewardEntry?> FindEntryAsync(ProgramId program, string rewardId, string entryId, CancellationToken ct)
    {
        foreach (var row in await store.ListEntriesAsync(program, rewardId, ct).ConfigureAwait(false))
        {
            if (string.Equals(row.EntryId, entryId, StringComparison.Ordinal))
            {
                return RewardDocuments.FromRow(row);
            }
        }
        return null;
    }
}
