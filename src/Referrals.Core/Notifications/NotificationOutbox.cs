using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Notifications;

/// <summary>
/// The transactional outbox: plans the <see cref="PendingNotification"/>s a commit writes, tells the notifiers right after
/// the commit and acknowledges them, and delivers again what a stopped process left pending.
/// </summary>
internal sealed partial class NotificationOutbox(IRewardStore store, IConversionStore conversions, NotifierSet notifiers, ILogger logger)
{
    /// <summary>How long a notification stays pending before a lifecycle pass treats its writer as gone and delivers it.</summary>
    public static readonly Duration RedeliverAfter = Duration.FromMinutes(1);

    private const int RedeliveryBatch = 100;

    /// <summary>True when no notifier is registered: nothing is planned and delivering does nothing.</summary>
    public bool IsEmpty => notifiers.IsEmpty;

    /// <summary>The notifications of a change about to be committed; none when no notifier is registered.</summary>
    public IReadOnlyList<PendingNotification> Plan(ProgramId program, IReadOnlyList<RewardEntry> entries, AttributionResult? decided, Instant now)
    {
        if (notifiers.IsEmpty || (entries.Count == 0 && decided is null))
        {
            return [];
        }
        var planned = new PendingNotification[entries.Count + (decided is null ? 0 : 1)];
        for (int i = 0; i < entries.Count; i++)
        {
            planned[i] = new PendingNotification
            {
                Id = NewId(),
                Kind = NotificationKind.RewardChanged,
                Program = program,
                OrderId = entries[i].OrderId,
                EntryId = entries[i].EntryId,
                RewardId = entries[i].RewardId,
                RecordedAt = now,
            };
        }
        if (decided is not null)
        {
            planned[^1] = new PendingNotification
            {
                Id = NewId(),
                Kind = NotificationKind.ConversionDecided,
                Program = program,
                OrderId = decided.OrderId,
                RecordedAt = now,
            };
        }
        return planned;
    }

    /// <summary>Tells the notifiers of a committed change (reward entries first, then the decision) and acknowledges its notifications.</summary>
    public async ValueTask DeliverAsync(IReadOnlyList<RewardEntry> entries, AttributionResult? decided, IReadOnlyList<PendingNotification> planned, CancellationToken ct)
    {
        foreach (var entry in entries)
        {
            await notifiers.NotifyAsync(entry, static (n, e, c) => n.OnRewardChangedAsync(e, c), ct).ConfigureAwait(false);
        }
        if (decided is not null)
        {
            await notifiers.NotifyAsync(decided, static (n, r, c) => n.OnConversionDecidedAsync(r, c), ct).ConfigureAwait(false);
        }
        await AcknowledgeAsync(planned, ct).ConfigureAwait(false);
    }

    /// <summary>Delivers every notification pending for longer than <see cref="RedeliverAfter"/>; returns how many.</summary>
    public async ValueTask<int> RedeliverAsync(Instant now, CancellationToken ct)
    {
        int delivered = 0;
        var before = now - RedeliverAfter;
        while (true)
        {
            var due = await store.ListPendingNotificationsAsync(before, RedeliveryBatch, ct).ConfigureAwait(false);
            foreach (var n in due)
            {
                switch (n.Kind)
                {
                    case NotificationKind.ConversionDecided:
                        if (await conversions.FindAttributionAsync(n.Program, n.OrderId, ct).ConfigureAwait(false) is { } attribution)
                        {
                            await notifiers.NotifyAsync(attribution, static (x, r, c) => x.OnConversionDecidedAsync(r, c), ct).ConfigureAwait(false);
                        }
                        break;
                    case NotificationKind.RewardChanged:
                        var entries = await store.ListOrderEntriesAsync(n.Program, n.OrderId, ct).ConfigureAwait(false);
                        // Entry ids are unique per reward; a notification stored without its reward id (by an earlier
                        // version, when they were unique in the program) is matched by the entry id alone.
                        if (entries.FirstOrDefault(e => e.EntryId == n.EntryId && (n.RewardId is null || e.RewardId == n.RewardId)) is { } entry)
                        {
                            await notifiers.NotifyAsync(entry, static (x, e, c) => x.OnRewardChangedAsync(e, c), ct).ConfigureAwait(false);
                        }
                        break;
                    default:
                        // A kind this version does not know (written by a newer one): left for that version to deliver.
                        continue;
                }
                delivered++;
            }
            var known = due.Where(n => n.Kind is NotificationKind.ConversionDecided or NotificationKind.RewardChanged).ToList();
            if (known.Count > 0)
            {
                await store.AcknowledgeNotificationsAsync(known.Select(n => n.Id).ToList(), ct).ConfigureAwait(false);
                ReferralsTelemetry.NotificationsRedelivered.Add(known.Count);
                LogRedelivered(logger, known.Count);
            }
            if (due.Count < RedeliveryBatch || known.Count == 0)
            {
                return delivered;
            }
        }
    }

    private async ValueTask AcknowledgeAsync(IReadOnlyList<PendingNotification> planned, CancellationToken ct)
    {
        if (planned.Count == 0)
        {
            return;
        }
        var ids = new string[planned.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = planned[i].Id;
        }
        try
        {
            await store.AcknowledgeNotificationsAsync(ids, ct).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the change is committed and its notifiers told: a failed acknowledgement only means a later redelivery
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogAcknowledgeFailed(logger, ex, ids.Length);
        }
    }

    private static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Acknowledging {Count} delivered notifications failed; they will be delivered again by the next lifecycle pass")]
    private static partial void LogAcknowledgeFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Delivered {Count} notifications left pending by a process that stopped before telling its notifiers")]
    private static partial void LogRedelivered(ILogger logger, int count);
}
