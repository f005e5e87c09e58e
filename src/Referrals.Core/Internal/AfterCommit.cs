namespace Referrals.Internal;

/// <summary>
/// What to do once a store transaction has committed (telling notifiers): collected while the transaction runs, run
/// after it. Not thread-safe; one per unit of work.
/// </summary>
internal sealed class AfterCommit
{
    private List<Func<CancellationToken, ValueTask>>? _actions;

    /// <summary>Adds an action, run in the order added.</summary>
    public void Add(Func<CancellationToken, ValueTask> action) => (_actions ??= []).Add(action);

    /// <summary>Runs the actions added (each is responsible for its own failures).</summary>
    public async ValueTask RunAsync(CancellationToken cancellationToken)
    {
        if (_actions is null)
        {
            return;
        }
        foreach (var action in _actions)
        {
            await action(cancellationToken).ConfigureAwait(false);
        }
    }
}
