using Referrals.Storage;
using Referrals.Notifications;

namespace Referrals.Benchmarks.CopyOnWrite;

/// <summary>A session of <see cref="CopyOnWriteStore"/>: holds the writer lock from begin to disposal.</summary>
internal sealed class InMemorySession(CopyOnWriteStore store, StoreState start) : SnapshotReader, IReferralStoreSession
{
    private StoreState _state = start;
    private List<PendingNotification>? _notifications;
    private bool _finished;
    private bool _disposed;

    protected override StoreState Snapshot
    {
        get
        {
            CheckOpen();
            return _state;
        }
    }

    public ValueTask<WriteOutcome> WriteAsync(UnitOfWork unit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(unit);
        CheckOpen();
        Validate(unit);
        cancellationToken.ThrowIfCancellationRequested();
        var (state, outcome) = _state.Apply(unit, IsNotificationTaken);
        if (outcome.Status == WriteStatus.Written)
        {
            _state = state;
            if (unit.Notifications.Count > 0)
            {
                (_notifications ??= []).AddRange(unit.Notifications);
            }
        }
        return new(outcome);
    }

    private bool IsNotificationTaken(string id)
    {
        if (store.IsNotificationTaken(id))
        {
            return true;
        }
        if (_notifications is not null)
        {
            foreach (var n in _notifications)
            {
                if (string.Equals(n.Id, id, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static void Validate(UnitOfWork unit)
    {
        ArgumentNullException.ThrowIfNull(unit.ReadSummaries, "unit.ReadSummaries");
        ArgumentNullException.ThrowIfNull(unit.ReadOrders, "unit.ReadOrders");
        ArgumentNullException.ThrowIfNull(unit.Codes, "unit.Codes");
        ArgumentNullException.ThrowIfNull(unit.Participants, "unit.Participants");
        ArgumentNullException.ThrowIfNull(unit.VisitorLinks, "unit.VisitorLinks");
        ArgumentNullException.ThrowIfNull(unit.Touches, "unit.Touches");
        ArgumentNullException.ThrowIfNull(unit.Orders, "unit.Orders");
        ArgumentNullException.ThrowIfNull(unit.Refunds, "unit.Refunds");
        ArgumentNullException.ThrowIfNull(unit.Entries, "unit.Entries");
        ArgumentNullException.ThrowIfNull(unit.Rewards, "unit.Rewards");
        ArgumentNullException.ThrowIfNull(unit.Summaries, "unit.Summaries");
        ArgumentNullException.ThrowIfNull(unit.Notifications, "unit.Notifications");
        ArgumentNullException.ThrowIfNull(unit.Erasures, "unit.Erasures");
        foreach (var read in unit.ReadSummaries)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(read.Version, "unit.ReadSummaries");
        }
        foreach (var read in unit.ReadOrders)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(read.Version, "unit.ReadOrders");
        }
    }

    public ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        CheckOpen();
        cancellationToken.ThrowIfCancellationRequested();
        store.Publish(_state, _notifications ?? (IReadOnlyList<PendingNotification>)[]);
        _finished = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _finished = true;
            store.ReleaseWriter();
        }
        return ValueTask.CompletedTask;
    }

    private void CheckOpen()
    {
        if (_finished)
        {
            throw new InvalidOperationException(_disposed ? "The session was disposed." : "The session was committed; begin a new one.");
        }
    }
}
