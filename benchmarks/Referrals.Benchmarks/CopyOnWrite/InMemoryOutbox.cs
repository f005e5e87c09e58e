using Referrals.Storage;
using NodaTime;
using Referrals.Notifications;

namespace Referrals.Benchmarks.CopyOnWrite;

/// <summary>
/// The in-memory store's outbox: pending notifications with a due index and a dead-letter index, under one lock. It
/// is kept apart from the copy-on-write snapshots because its delivery state changes outside sessions.
/// </summary>
internal sealed class InMemoryOutbox
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingNotification> _pending = new(StringComparer.Ordinal);
    private readonly SortedSet<ListPosition> _due = [];
    private readonly SortedSet<ListPosition> _dead = [];

    public bool Contains(string id)
    {
        lock (_gate)
        {
            return _pending.ContainsKey(id);
        }
    }

    public void Add(IReadOnlyList<PendingNotification> notifications)
    {
        if (notifications.Count == 0)
        {
            return;
        }
        lock (_gate)
        {
            foreach (var n in notifications)
            {
                _pending.Add(n.Id, n);
                Index(n, add: true);
            }
        }
    }

    public IReadOnlyList<PendingNotification> ListDue(Instant now, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            var list = new List<PendingNotification>();
            foreach (var p in _due)
            {
                if (p.Time > now || list.Count == limit)
                {
                    break;
                }
                list.Add(_pending[p.Id]);
            }
            return list;
        }
    }

    public IReadOnlyList<PendingNotification> ListDeadLettered(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            var list = new List<PendingNotification>();
            foreach (var p in _dead)
            {
                if (list.Count == limit)
                {
                    break;
                }
                list.Add(_pending[p.Id]);
            }
            return list;
        }
    }

    public IReadOnlyList<string> TryUpdate(IReadOnlyList<NotificationUpdate> updates)
    {
        foreach (var u in updates)
        {
            if (u.Notification is not { Id: not null, NotifiersTold: not null, Failures: not null })
            {
                throw new ArgumentException("An update needs a notification with an id and non-null lists of notifiers told and failures.", nameof(updates));
            }
        }
        lock (_gate)
        {
            var written = new List<string>();
            foreach (var (update, expected) in updates)
            {
                if (!_pending.TryGetValue(update.Id, out var stored) || stored.DueAt != expected)
                {
                    continue;
                }
                Index(stored, add: false);
                var next = stored with
                {
                    DueAt = update.DueAt,
                    Attempts = update.Attempts,
                    FirstAttemptAt = update.FirstAttemptAt,
                    LastAttemptAt = update.LastAttemptAt,
                    NotifiersTold = update.NotifiersTold,
                    Failures = update.Failures,
                    DeadLetteredAt = update.DeadLetteredAt,
                };
                _pending[next.Id] = next;
                Index(next, add: true);
                written.Add(next.Id);
            }
            return written;
        }
    }

    public void Acknowledge(IReadOnlyList<string> ids)
    {
        lock (_gate)
        {
            foreach (var id in ids)
            {
                if (id is not null && _pending.Remove(id, out var n))
                {
                    Index(n, add: false);
                }
            }
        }
    }

    private void Index(PendingNotification n, bool add)
    {
        var (set, at) = n.DeadLetteredAt is { } dead ? (_dead, dead) : (_due, n.DueAt);
        if (add)
        {
            set.Add(new ListPosition(at, n.Id));
        }
        else
        {
            set.Remove(new ListPosition(at, n.Id));
        }
    }
}
