using NodaTime;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Rewards;

namespace Referrals.Storage;

public sealed partial class InMemoryReferralStore : IRewardStore
{
    // Guarded by _gate, like the attribution side.
    private readonly Dictionary<(ProgramId, ParticipantId), Account> _accounts = new();
    private readonly Dictionary<(ProgramId, string), RewardDecision> _decisions = new();
    // (program, reward id, entry id): entry ids are unique per reward.
    private readonly HashSet<(ProgramId, string, string)> _entryIds = new();
    private readonly Dictionary<(ProgramId, string), List<RewardEntry>> _orderEntries = new();
    private readonly Dictionary<(ProgramId, string), List<RewardEntry>> _rewardEntries = new();
    private readonly Dictionary<(ProgramId, string), List<Refund>> _refunds = new();
    private readonly HashSet<(ProgramId, string)> _refundIds = new();
    private readonly Dictionary<(ProgramId, string), List<RewardEntry>> _openRewards = new();
    private readonly Dictionary<string, PendingNotification> _pendingNotifications = new(StringComparer.Ordinal);
    // The pending notifications still tried, by due instant, and the dead letters, by when they became one: what a
    // lifecycle pass and an operator look up, read in order without going through the whole outbox.
    private readonly SortedSet<(Instant At, string Id)> _dueNotifications = new(NotificationOrder);
    private readonly SortedSet<(Instant At, string Id)> _deadLetters = new(NotificationOrder);

    private static readonly IComparer<(Instant At, string Id)> NotificationOrder = Comparer<(Instant At, string Id)>.Create(
        static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id));

    /// <inheritdoc />
    public ValueTask<RewardAccount> LoadAccountAsync(ProgramId program, ParticipantId beneficiary, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_accounts.TryGetValue((program, beneficiary), out var a))
            {
                return ValueTask.FromResult(new RewardAccount(program, beneficiary, 0, [], []));
            }
            var referrals = new List<RewardDecision>(a.ReferralOrders.Count);
            foreach (var order in a.ReferralOrders)
            {
                referrals.Add(_decisions[(program, order)]);
            }
            return ValueTask.FromResult(new RewardAccount(program, beneficiary, a.Version, a.Entries.ToArray(), referrals));
        }
    }

    /// <inheritdoc />
    public ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_decisions.GetValueOrDefault((program, orderId)));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<RewardEntry>> ListOrderEntriesAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<RewardEntry>>(_orderEntries.TryGetValue((program, orderId), out var list) ? list.ToArray() : []);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<RewardEntry>> ListRewardEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<RewardEntry>>(_rewardEntries.TryGetValue((program, rewardId), out var list) ? list.ToArray() : []);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Refund>>(_refunds.TryGetValue((program, orderId), out var list) ? list.ToArray() : []);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<RewardEntry>> ListOpenEntriesAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var result = new List<RewardEntry>();
            foreach (var ((p, _), entries) in _openRewards)
            {
                if (p == program)
                {
                    result.AddRange(entries);
                }
            }
            // Stable (OrderBy): entries of one reward recorded at the same instant keep their write order, so a reward's
            // Earned entry always comes before its later entries (List.Sort is unstable).
            return ValueTask.FromResult<IReadOnlyList<RewardEntry>>(result.OrderBy(static e => e.RecordedAt).ToArray());
        }
    }

    /// <inheritdoc />
    public ValueTask<RewardCommitOutcome> TryCommitAsync(RewardCommit commit, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        var program = commit.Program;
        foreach (var e in commit.Entries)
        {
            Preconditions.CheckArgument(e.Program == program, nameof(commit), $"Entry {e.EntryId} is for program {e.Program}, the commit for {program}.");
            Preconditions.CheckArgument(
                commit.Accounts.Any(a => a.Beneficiary == e.Beneficiary),
                nameof(commit),
                $"Entry {e.EntryId} is for {e.Beneficiary}, whose account the commit does not list.");
        }
        lock (_gate)
        {
            foreach (var a in commit.Accounts)
            {
                long current = _accounts.TryGetValue((program, a.Beneficiary), out var acc) ? acc.Version : 0;
                if (current != a.ExpectedVersion)
                {
                    return ValueTask.FromResult(RewardCommitOutcome.Conflict);
                }
            }
            if (commit.Decision is { } d)
            {
                int current = _decisions.TryGetValue((program, d.OrderId), out var old) ? old.Revision : 0;
                if (current != commit.ExpectedDecisionRevision)
                {
                    return ValueTask.FromResult(RewardCommitOutcome.Conflict);
                }
            }
            var ids = new HashSet<(string, string)>();
            foreach (var e in commit.Entries)
            {
                if (!ids.Add((e.RewardId, e.EntryId)) || _entryIds.Contains((program, e.RewardId, e.EntryId)))
                {
                    return ValueTask.FromResult(RewardCommitOutcome.Duplicate);
                }
            }
            if (commit.Refund is { } r && _refundIds.Contains((program, r.RefundId)))
            {
                return ValueTask.FromResult(RewardCommitOutcome.Duplicate);
            }
            var notificationIds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in commit.Notifications)
            {
                if (!notificationIds.Add(n.Id) || _pendingNotifications.ContainsKey(n.Id))
                {
                    return ValueTask.FromResult(RewardCommitOutcome.Duplicate);
                }
            }
            if (commit.Attribution is { } attribution && !HasConversion(attribution.Program, attribution.OrderId))
            {
                throw new InvalidOperationException($"No conversion with order id '{attribution.OrderId}' is recorded in program '{attribution.Program}'.");
            }

            // Checked: now apply everything.
            foreach (var a in commit.Accounts)
            {
                if (!_accounts.TryGetValue((program, a.Beneficiary), out var acc))
                {
                    _accounts[(program, a.Beneficiary)] = acc = new Account();
                }
                acc.Version++;
            }
            foreach (var e in commit.Entries)
            {
                _entryIds.Add((program, e.RewardId, e.EntryId));
                _accounts[(program, e.Beneficiary)].Entries.Add(e);
                AddTo(_orderEntries, (program, e.OrderId), e);
                AddTo(_rewardEntries, (program, e.RewardId), e);
                if (e.Type == RewardEntryType.Earned)
                {
                    _openRewards[(program, e.RewardId)] = [e];
                }
                else if (_openRewards.TryGetValue((program, e.RewardId), out var open))
                {
                    open.Add(e);
                    if (Reward.Fold(open).Status is not (RewardStatus.Pending or RewardStatus.Approved))
                    {
                        _openRewards.Remove((program, e.RewardId));
                    }
                }
            }
            if (commit.Decision is { } decision)
            {
                if (_decisions.TryGetValue((program, decision.OrderId), out var old) && old.Referrer is { } oldReferrer)
                {
                    _accounts[(program, oldReferrer)].ReferralOrders.Remove(decision.OrderId);
                }
                _decisions[(program, decision.OrderId)] = decision;
                if (decision.Referrer is { } referrer)
                {
                    if (!_accounts.TryGetValue((program, referrer), out var acc))
                    {
                        _accounts[(program, referrer)] = acc = new Account();
                    }
                    acc.ReferralOrders.Add(decision.OrderId);
                }
            }
            if (commit.Refund is { } refund)
            {
                _refundIds.Add((program, refund.RefundId));
                AddTo(_refunds, (program, refund.OrderId), refund);
                IndexRefund(refund);
            }
            if (commit.Attribution is { } saved)
            {
                // The lock is re-entrant: the attribution is saved inside the same critical section as the rewards.
                _ = SaveAttributionAsync(saved, CancellationToken.None);
            }
            foreach (var n in commit.Notifications)
            {
                _pendingNotifications.Add(n.Id, n);
                IndexNotification(n);
            }
        }
        return ValueTask.FromResult(RewardCommitOutcome.Committed);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PendingNotification>> ListDueNotificationsAsync(Instant now, int limit, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckArgumentRange(nameof(limit), limit, 0, int.MaxValue);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var due = new List<PendingNotification>();
            foreach (var (at, id) in _dueNotifications)
            {
                if (at > now || due.Count == limit)
                {
                    break;
                }
                due.Add(_pendingNotifications[id]);
            }
            return ValueTask.FromResult<IReadOnlyList<PendingNotification>>(due);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="updates"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An update has no notification, or a notification with a null id or list.</exception>
    public ValueTask<IReadOnlyList<string>> TryUpdateNotificationsAsync(IReadOnlyList<NotificationUpdate> updates, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(updates);
        foreach (var u in updates)
        {
            Preconditions.CheckArgument(
                u.Notification is { Id: not null, NotifiersTold: not null, Failures: not null },
                nameof(updates),
                "An update needs a notification with an id and non-null lists of notifiers told and failures.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var written = new List<string>();
            foreach (var (update, expected) in updates)
            {
                if (!_pendingNotifications.TryGetValue(update.Id, out var stored) || stored.DueAt != expected)
                {
                    continue;
                }
                UnindexNotification(stored);
                var next = stored with
                {
                    DueAt = update.DueAt,
                    Attempts = update.Attempts,
                    FirstAttemptAt = update.FirstAttemptAt,
                    LastAttemptAt = update.LastAttemptAt,
                    NotifiersTold = update.NotifiersTold.ToArray(),
                    Failures = update.Failures.ToArray(),
                    DeadLetteredAt = update.DeadLetteredAt,
                };
                _pendingNotifications[update.Id] = next;
                IndexNotification(next);
                written.Add(update.Id);
            }
            return ValueTask.FromResult<IReadOnlyList<string>>(written);
        }
    }

    /// <inheritdoc />
    public ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(ids);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            foreach (var id in ids)
            {
                if (id is not null && _pendingNotifications.Remove(id, out var removed))
                {
                    UnindexNotification(removed);
                }
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckArgumentRange(nameof(limit), limit, 0, int.MaxValue);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var dead = new List<PendingNotification>();
            foreach (var (_, id) in _deadLetters)
            {
                if (dead.Count == limit)
                {
                    break;
                }
                dead.Add(_pendingNotifications[id]);
            }
            return ValueTask.FromResult<IReadOnlyList<PendingNotification>>(dead);
        }
    }

    // Called under _gate.
    private void IndexNotification(PendingNotification n)
    {
        if (n.DeadLetteredAt is { } dead)
        {
            _deadLetters.Add((dead, n.Id));
        }
        else
        {
            _dueNotifications.Add((n.DueAt, n.Id));
        }
    }

    // Called under _gate.
    private void UnindexNotification(PendingNotification n)
    {
        if (n.DeadLetteredAt is { } dead)
        {
            _deadLetters.Remove((dead, n.Id));
        }
        else
        {
            _dueNotifications.Remove((n.DueAt, n.Id));
        }
    }

    // Called under _gate.
    private bool HasConversion(ProgramId program, string orderId) => _orders.TryGetValue((program, orderId), out _);

    private static void AddTo<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value)
        where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }
        list.Add(value);
    }

    private sealed class Account
    {
        public long Version { get; set; }

        public List<RewardEntry> Entries { get; } = [];

        // Orders whose current decision credits this participant as level-1 referrer, in decision order.
        public List<string> ReferralOrders { get; } = [];
    }
}
