using Referrals.Notifications;

namespace Referrals.Storage;

/// <summary>
/// A session of <see cref="InMemoryStore"/>: holds the writer lock from begin to disposal, writes its units into the
/// store's state as pending rows, and commits or rolls them back.
/// </summary>
internal sealed class InMemorySession(InMemoryStore store, StoreState data) : StateReader(data, gate: null), IReferralStoreSession
{
    private List<PendingNotification>? _notifications;
    private bool _finished;
    private bool _disposed;
    private bool _wrote;

    protected override bool Own => true;

    public ValueTask<WriteOutcome> WriteAsync(UnitOfWork unit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(unit);
        CheckOpen();
        Validate(unit);
        cancellationToken.ThrowIfCancellationRequested();
        Span<int> marks = stackalloc int[State.JournalCount];
        WriteOutcome outcome;
        using (store.Write())
        {
            State.Mark(marks);
            _wrote = true;
            try
            {
                outcome = State.Apply(unit, IsNotificationTaken);
            }
            catch
            {
                // A programmer error found half-way (a version below 1): the unit is undone like a stopped one.
                State.RollbackTo(marks);
                throw;
            }
            if (outcome.Status != WriteStatus.Written)
            {
                State.RollbackTo(marks);
            }
        }
        if (outcome.Status == WriteStatus.Written && unit.Notifications.Count > 0)
        {
            (_notifications ??= []).AddRange(unit.Notifications);
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

    private static void Validate(UnitOfWork unit) => UnitValidation.ThrowIfInvalid(unit);

    public ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        CheckOpen();
        cancellationToken.ThrowIfCancellationRequested();
        store.Publish(_notifications ?? (IReadOnlyList<PendingNotification>)[]);
        _wrote = false;
        _finished = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _finished = true;
            if (_wrote)
            {
                using (store.Write())
                {
                    State.RollbackAll();
                }
            }
            store.ReleaseWriter();
        }
        return ValueTask.CompletedTask;
    }

    protected override void CheckOpen()
    {
        if (_finished)
        {
            throw new InvalidOperationException(_disposed ? "The session was disposed." : "The session was committed; begin a new one.");
        }
    }
}
