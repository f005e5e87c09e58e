using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// Notification delivery, the last stage of every write (notify): the transactional outbox. Plans the <see cref="PendingNotification"/>s a commit writes, tells the notifiers right after
/// the commit, removes what every notifier took and keeps the rest for another attempt; the lifecycle pass delivers what
/// is due again (to the notifiers not yet told), backs off, and dead-letters after the configured number of attempts.
/// </summary>
/// <remarks>
/// Delivery state is per notifier (<see cref="PendingNotification.NotifiersTold"/>), so a healthy notifier is not told
/// again because another failed. Every change of delivery state is a conditional update on the due instant the writer
/// read (<see cref="IReferralStore.TryUpdateNotificationsAsync"/>), and a pass claims what it delivers first by moving the
/// due instant <see cref="ClaimFor"/> ahead: passes of several processes at once neither lose a notification (a claim
/// that is never settled runs out) nor, normally, deliver one twice.
/// </remarks>
internal sealed partial class NotificationDispatcher(
    OutboxPort store,
    NotifierSet notifiers,
    NotificationOptions options,
    IClock clock,
    ILogger logger)
{
    /// <summary>How long a notification stays pending before a lifecycle pass treats its writer as gone and delivers it.</summary>
    public static readonly Duration RedeliverAfter = Duration.FromMinutes(1);

    /// <summary>How long a lifecycle pass holds the notifications it is delivering; should the pass stop, they are due again after it.</summary>
    public static readonly Duration ClaimFor = Duration.FromMinutes(5);

    private const int RedeliveryBatch = 100;

    /// <summary>True when no notifier is registered: nothing is planned and delivering does nothing.</summary>
    public bool IsEmpty => notifiers.IsEmpty;

    /// <summary>The notifications of a change about to be committed; none when no notifier is registered.</summary>
    public IReadOnlyList<PendingNotification> Plan(ProgramId program, IReadOnlyList<RewardEntry> entries, AttributionResult? decided, Instant now) =>
        Plan(notifiers, program, entries, decided, now);

    /// <summary>The notifications of a change about to be committed for <paramref name="notifiers"/>; none when there are none.</summary>
    public static IReadOnlyList<PendingNotification> Plan(NotifierSet notifiers, ProgramId program, IReadOnlyList<RewardEntry> entries, AttributionResult? decided, Instant now)
    {
        if (notifiers.IsEmpty || (entries.Count == 0 && decided is null))
        {
            return [];
        }
        var due = now + RedeliverAfter;
        var planned = new PendingNotification[entries.Count + (decided is null ? 0 : 1)];
        for (int i = 0; i < entries.Count; i++)
        {
            planned[i] = PendingNotification.Undelivered(
                NewId(), NotificationKind.RewardChanged, program, now, due, orderId: entries[i].OrderId, entryId: entries[i].EntryId, rewardId: entries[i].RewardId);
        }
        if (decided is not null)
        {
            planned[^1] = PendingNotification.Undelivered(NewId(), NotificationKind.ConversionDecided, program, now, due, orderId: decided.OrderId);
        }
        return planned;
    }

    /// <summary>
    /// Tells the notifiers of a committed change (reward entries first, then the decision), removes the notifications
    /// every notifier took and records the failed attempt of the others, in one write. Never throws but for <paramref name="ct"/>.
    /// </summary>
    public async ValueTask DeliverAsync(IReadOnlyList<RewardEntry> entries, AttributionResult? decided, IReadOnlyList<PendingNotification> planned, CancellationToken ct)
    {
        if (planned.Count == 0)
        {
            return;
        }
        string[]? delivered = null;
        List<NotificationUpdate>? failed = null;
        int taken = 0;
        for (int i = 0; i < planned.Count; i++)
        {
            object payload = i < entries.Count ? entries[i] : decided!;
            if (await TellAsync(planned[i], payload, ct).ConfigureAwait(false) is { } failure)
            {
                (failed ??= []).Add(failure);
            }
            else
            {
                (delivered ??= new string[planned.Count])[taken++] = planned[i].Id;
            }
        }
        IReadOnlyList<string> done = delivered is null ? [] : taken == delivered.Length ? delivered : delivered[..taken];
        await RecordAsync(done, failed, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the notifiers of everything a committed unit of work collected, in the order collected (each notification
    /// with what it reports), then records what the deliveries achieved in one write (see <see cref="RecordAsync"/>).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled: what was not recorded is delivered again by a lifecycle pass.</exception>
    public async ValueTask DeliverAsync(IReadOnlyList<(PendingNotification Notification, object Payload)> told, CancellationToken ct)
    {
        if (told.Count == 0)
        {
            return;
        }
        List<string>? delivered = null;
        List<NotificationUpdate>? failed = null;
        try
        {
            foreach (var (notification, payload) in told)
            {
                if (await TellAsync(notification, payload, ct).ConfigureAwait(false) is { } failure)
                {
                    (failed ??= []).Add(failure);
                }
                else
                {
                    (delivered ??= []).Add(notification.Id);
                }
            }
        }
        catch (OperationCanceledException) when (delivered is not null || failed is not null)
        {
            // Stopped midway (the host shuts down): what every notifier took already is recorded, so a later pass tells
            // only the rest; a short write, not cancelled, as the change it reports is committed.
            await RecordAsync(delivered ?? (IReadOnlyList<string>)[], failed, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        await RecordAsync(delivered ?? (IReadOnlyList<string>)[], failed, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells every notifier of a committed notification right after its commit (its first attempt).
    /// </summary>
    /// <returns><see langword="null"/> when every notifier took it; otherwise the state to record for the failed attempt.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async ValueTask<NotificationUpdate?> TellAsync(PendingNotification notification, object payload, CancellationToken ct)
    {
        var failures = await notifiers.TellAsync(notification.Kind, payload, [], ct).ConfigureAwait(false);
        return failures is null ? null : AfterFailure(notification, failures, clock.GetCurrentInstant());
    }

    /// <summary>
    /// Delivers every notification due at <paramref name="now"/> to the notifiers not yet told: claims a batch, tells,
    /// removes what is done and records the failed attempts (backing off, or dead-lettering after the last).
    /// </summary>
    public async ValueTask<(int Delivered, int Undelivered, int DeadLettered)> RedeliverAsync(Instant now, CancellationToken ct)
    {
        int delivered = 0, undelivered = 0, deadLettered = 0;
        var claimedUntil = now + ClaimFor;
        while (true)
        {
            var due = await store.ListDueAsync(now, RedeliveryBatch, ct).ConfigureAwait(false);
            if (due.Count == 0)
            {
                break;
            }
            var claims = new NotificationUpdate[due.Count];
            for (int i = 0; i < claims.Length; i++)
            {
                claims[i] = new NotificationUpdate(due[i] with { DueAt = claimedUntil }, due[i].DueAt);
            }
            var claimed = new HashSet<string>(await store.TryUpdateAsync(claims, ct).ConfigureAwait(false), StringComparer.Ordinal);
            var done = new List<string>();
            var failed = new List<NotificationUpdate>();
            foreach (var (n, _) in claims)
            {
                if (!claimed.Contains(n.Id))
                {
                    continue; // another pass took it
                }
                if (!NotifierSet.IsDeliverable(n.Kind))
                {
                    // Written by a newer version: left to one that can deliver it, due again when the claim runs out.
                    continue;
                }
                var payload = await store.ReadPayloadAsync(n, ct).ConfigureAwait(false);
                if (payload is null)
                {
                    // What it reports is not stored (written by an earlier version, whose capture could be written before
                    // its touch and the writer stop between the two): there is nothing to tell.
                    done.Add(n.Id);
                    LogNothingToTell(logger, n.Id, n.Kind);
                    continue;
                }
                ReferralsTelemetry.NotificationRetries.Add(1);
                var failures = await notifiers.TellAsync(n.Kind, payload, n.NotifiersTold, ct).ConfigureAwait(false);
                if (failures is null)
                {
                    done.Add(n.Id);
                    delivered++;
                    continue;
                }
                var update = AfterFailure(n, failures, now);
                failed.Add(update);
                if (update.Notification.DeadLetteredAt is null)
                {
                    undelivered++;
                }
                else
                {
                    deadLettered++;
                }
            }
            if (done.Count > 0)
            {
                await store.AcknowledgeAsync(done, ct).ConfigureAwait(false);
            }
            if (failed.Count > 0)
            {
                await UpdateAsync(failed, ct).ConfigureAwait(false);
            }
            if (due.Count < RedeliveryBatch || claimed.Count == 0)
            {
                break;
            }
        }
        if (delivered > 0)
        {
            ReferralsTelemetry.NotificationsRedelivered.Add(delivered);
        }
        if (delivered + undelivered + deadLettered > 0)
        {
            LogRedelivered(logger, delivered, undelivered, deadLettered);
        }
        return (delivered, undelivered, deadLettered);
    }

    /// <summary>The dead letters, oldest first.</summary>
    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredAsync(int limit, CancellationToken ct) =>
        store.ListDeadLetteredAsync(limit, ct);

    /// <summary>
    /// Puts dead letters back in line, due at <paramref name="now"/> with their attempts counted from zero; the notifiers
    /// told already stay told. Skips notifications that are not dead letters as given (changed since they were read).
    /// </summary>
    /// <returns>How many were re-queued.</returns>
    public async ValueTask<int> RequeueAsync(IReadOnlyList<PendingNotification> deadLetters, Instant now, CancellationToken ct)
    {
        var updates = new List<NotificationUpdate>(deadLetters.Count);
        foreach (var n in deadLetters)
        {
            if (n.DeadLetteredAt is not null)
            {
                updates.Add(new NotificationUpdate(n with { DeadLetteredAt = null, Attempts = 0, DueAt = now }, n.DueAt));
            }
        }
        if (updates.Count == 0)
        {
            return 0;
        }
        int requeued = (await store.TryUpdateAsync(updates, ct).ConfigureAwait(false)).Count;
        if (requeued > 0)
        {
            LogRequeued(logger, requeued);
        }
        return requeued;
    }

    /// <summary>
    /// The state after a failed attempt: the notifiers told so far (before, and now all but the failing ones), one more
    /// attempt, and the next due instant by the backoff — or, after the last attempt allowed, the dead-letter state.
    /// </summary>
    private NotificationUpdate AfterFailure(PendingNotification n, List<NotifierFailure> failures, Instant now)
    {
        var told = new List<string>(n.NotifiersTold);
        foreach (var name in notifiers.Names)
        {
            if (!told.Contains(name, StringComparer.Ordinal) && !failures.Exists(f => f.Notifier == name))
            {
                told.Add(name);
            }
        }
        int attempts = n.Attempts + 1;
        bool dead = attempts >= options.MaxAttempts;
        var next = n with
        {
            Attempts = attempts,
            FirstAttemptAt = n.FirstAttemptAt ?? now,
            LastAttemptAt = now,
            NotifiersTold = told,
            Failures = failures,
            DueAt = dead ? now : now + options.RetryDelay(attempts),
            DeadLetteredAt = dead ? now : null,
        };
        return new NotificationUpdate(next, n.DueAt);
    }

    /// <summary>
    /// Writes what the attempts right after a commit achieved: removes <paramref name="delivered"/>, records
    /// <paramref name="failed"/>. A failure to write is logged, not thrown: the change is committed, and what was not
    /// written is delivered again by a lifecycle pass (notifiers told already may hear of it twice).
    /// </summary>
    public async ValueTask RecordAsync(IReadOnlyList<string> delivered, IReadOnlyList<NotificationUpdate>? failed, CancellationToken ct)
    {
        try
        {
            if (delivered.Count > 0)
            {
                await store.AcknowledgeAsync(delivered, ct).ConfigureAwait(false);
            }
            if (failed is not null)
            {
                await UpdateAsync(failed, ct).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // the change is committed and its notifiers told: a failed write only means a later redelivery
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogAcknowledgeFailed(logger, ex, delivered.Count + (failed?.Count ?? 0));
        }
    }

    /// <summary>Writes failed attempts; the ones that became dead letters are counted and logged once written.</summary>
    private async ValueTask UpdateAsync(IReadOnlyList<NotificationUpdate> failed, CancellationToken ct)
    {
        var written = await store.TryUpdateAsync(failed, ct).ConfigureAwait(false);
        foreach (var (n, _) in failed)
        {
            if (n.DeadLetteredAt is not null && written.Contains(n.Id, StringComparer.Ordinal))
            {
                ReferralsTelemetry.NotificationsDeadLettered.Add(1);
                LogDeadLettered(logger, n.Id, n.Kind, n.Attempts, string.Join(", ", n.Failures.Select(f => f.Notifier + " (" + f.ErrorType + ")")));
            }
        }
    }

    internal static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Recording the delivery of {Count} notifications failed; they will be delivered again by a lifecycle pass")]
    private static partial void LogAcknowledgeFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Lifecycle pass delivered {Delivered} pending notifications; {Undelivered} failed again and wait for a later attempt, {DeadLettered} were dead-lettered")]
    private static partial void LogRedelivered(ILogger logger, int delivered, int undelivered, int deadLettered);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Notification {NotificationId} ({Kind}) was dead-lettered after {Attempts} failed attempts; not told: {Failures}. It is kept until an operator re-queues it")]
    private static partial void LogDeadLettered(ILogger logger, string notificationId, NotificationKind kind, int attempts, string failures);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Re-queued {Count} dead-lettered notifications; the next lifecycle pass delivers them")]
    private static partial void LogRequeued(ILogger logger, int count);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Notification {NotificationId} ({Kind}) was removed: what it reports is not stored, so there is nothing to tell")]
    private static partial void LogNothingToTell(ILogger logger, string notificationId, NotificationKind kind);
}
