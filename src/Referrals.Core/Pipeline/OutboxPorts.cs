using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// What the notification dispatcher needs of a store: the outbox's delivery state and a way to read back what a
/// notification reports. Two implementations while both store contracts exist: today's stores and the narrow contract.
/// </summary>
internal interface IOutboxPort
{
    /// <summary>True when "referral captured" payloads can be read back (a touch store is known).</summary>
    bool ReadsTouches { get; }

    ValueTask<IReadOnlyList<PendingNotification>> ListDueAsync(Instant now, int limit, CancellationToken ct);

    ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredAsync(int limit, CancellationToken ct);

    ValueTask<IReadOnlyList<string>> TryUpdateAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken ct);

    ValueTask AcknowledgeAsync(IReadOnlyList<string> ids, CancellationToken ct);

    /// <summary>Writes one notification on its own (today's stores only: on the contract it is part of its unit).</summary>
    ValueTask<bool> TryWriteAloneAsync(PendingNotification notification, CancellationToken ct);

    /// <summary>What a notification reports, read from the store; <see langword="null"/> when it is not stored.</summary>
    ValueTask<object?> ReadPayloadAsync(PendingNotification n, CancellationToken ct);
}

/// <summary>The outbox on today's store interfaces.</summary>
internal sealed class StoreOutboxPort(IRewardStore store, IConversionStore conversions, ITouchStore? touches) : IOutboxPort
{
    public bool ReadsTouches => touches is not null;

    public ValueTask<IReadOnlyList<PendingNotification>> ListDueAsync(Instant now, int limit, CancellationToken ct) => store.ListDueNotificationsAsync(now, limit, ct);

    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredAsync(int limit, CancellationToken ct) => store.ListDeadLetteredNotificationsAsync(limit, ct);

    public ValueTask<IReadOnlyList<string>> TryUpdateAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken ct) => store.TryUpdateNotificationsAsync(updates, ct);

    public ValueTask AcknowledgeAsync(IReadOnlyList<string> ids, CancellationToken ct) => store.AcknowledgeNotificationsAsync(ids, ct);

    public async ValueTask<bool> TryWriteAloneAsync(PendingNotification notification, CancellationToken ct) =>
        await store.TryCommitAsync(new RewardCommit { Program = notification.Program, Accounts = [], Notifications = [notification] }, ct).ConfigureAwait(false)
            == RewardCommitOutcome.Committed;

    public async ValueTask<object?> ReadPayloadAsync(PendingNotification n, CancellationToken ct)
    {
        switch (n.Kind)
        {
            case NotificationKind.ConversionDecided:
                return n.OrderId is null ? null : await conversions.FindAttributionAsync(n.Program, n.OrderId, ct).ConfigureAwait(false);
            case NotificationKind.RewardChanged:
                if (n.OrderId is null)
                {
                    return null;
                }
                var entries = await store.ListOrderEntriesAsync(n.Program, n.OrderId, ct).ConfigureAwait(false);
                // Entry ids are unique per reward; a notification stored without its reward id (by an earlier version,
                // when they were unique in the program) is matched by the entry id alone.
                return entries.FirstOrDefault(e => e.EntryId == n.EntryId && (n.RewardId is null || e.RewardId == n.RewardId));
            default:
                return n.TouchId is null || touches is null ? null : await touches.FindTouchAsync(n.Program, n.TouchId, ct).ConfigureAwait(false);
        }
    }
}

/// <summary>The outbox on the narrow store contract: payloads are read by key (an order's document, a reward's entries, a touch).</summary>
internal sealed class ContractOutboxPort(IReferralStore store) : IOutboxPort
{
    public bool ReadsTouches => true;

    public ValueTask<IReadOnlyList<PendingNotification>> ListDueAsync(Instant now, int limit, CancellationToken ct) => store.ListDueNotificationsAsync(now, limit, ct);

    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredAsync(int limit, CancellationToken ct) => store.ListDeadLetteredNotificationsAsync(limit, ct);

    public ValueTask<IReadOnlyList<string>> TryUpdateAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken ct) => store.TryUpdateNotificationsAsync(updates, ct);

    public ValueTask AcknowledgeAsync(IReadOnlyList<string> ids, CancellationToken ct) => store.AcknowledgeNotificationsAsync(ids, ct);

    public async ValueTask<bool> TryWriteAloneAsync(PendingNotification notification, CancellationToken ct)
    {
        await using var session = await store.BeginAsync(ct).ConfigureAwait(false);
        var outcome = await session.WriteAsync(new UnitOfWork { Notifications = [notification] }, ct).ConfigureAwait(false);
        if (outcome.Status != WriteStatus.Written)
        {
            return false;
        }
        await session.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

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
