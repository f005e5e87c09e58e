using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Referrals.Attribution;
using Referrals.Services;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// Callers of a shop under a fault: tasks recording a list of conversions, each taking the next order and sending it
/// until it is acknowledged (<see cref="AttributionService.RecordConversionAsync"/> returned), as the store documents:
/// an <see cref="NpgsqlException"/> with <see cref="NpgsqlException.IsTransient"/> — and only that — is retried by
/// sending the same conversion again. Anything else thrown is an error the test reports; the order is then given up.
/// </summary>
internal sealed class ConversionLoad(AttributionService attribution, IReadOnlyList<Conversion> orders, int tasks)
{
    private readonly ConcurrentDictionary<string, AttributionResult> _acknowledged = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _failureKinds = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private int _next = -1;
    private int _sent;
    private int _attempts;
    private int _transientFailures;
    private int _givenUp;

    /// <summary>The pause before sending again after a transient error (none by default).</summary>
    public TimeSpan RetryDelay { get; init; }

    /// <summary>Called after each transient failure, before the pause (for example to clear the connection pools).</summary>
    public Action<NpgsqlException>? OnTransientFailure { get; init; }

    /// <summary>How long the whole load may take; orders not acknowledged by then are given up.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Orders sent at least once.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Calls made (first sends and retries).</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Calls that threw a transient <see cref="NpgsqlException"/> (each was retried unless the deadline had passed).</summary>
    public int TransientFailures => Volatile.Read(ref _transientFailures);

    /// <summary>Orders sent but never acknowledged: an error that is not transient, or the deadline.</summary>
    public int GivenUp => Volatile.Read(ref _givenUp);

    /// <summary>Orders acknowledged, with the decision returned.</summary>
    public IReadOnlyDictionary<string, AttributionResult> Acknowledged => _acknowledged;

    /// <summary>Every error that was not a transient <see cref="NpgsqlException"/>, with its order.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>The first error that was not a transient <see cref="NpgsqlException"/>, with its stack trace, or <see langword="null"/>.</summary>
    public Exception? FirstError { get; private set; }

    /// <summary>The transient failures by kind (SQLSTATE, or the innermost exception's type).</summary>
    public string FailureSummary =>
        _failureKinds.IsEmpty ? "none" : string.Join("; ", _failureKinds.OrderByDescending(k => k.Value).Select(k => $"{k.Value}× {k.Key}"));

    /// <summary>A task that completes once <paramref name="count"/> orders are acknowledged (or the load ended).</summary>
    public Task WhenAcknowledged(int count)
    {
        lock (_waiters)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_acknowledged.Count >= count)
            {
                reached.SetResult();
            }
            else
            {
                _waiters.Add((count, reached));
            }
            return reached.Task;
        }
    }

    /// <summary>Runs the tasks until every order is acknowledged or given up.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, tasks).Select(_ => Task.Run(() => CallerAsync(clock, cancellationToken), cancellationToken))).ConfigureAwait(false);
        }
        finally
        {
            lock (_waiters)
            {
                foreach (var (_, reached) in _waiters)
                {
                    reached.TrySetResult();
                }
                _waiters.Clear();
            }
        }
    }

    private async Task CallerAsync(Stopwatch clock, CancellationToken cancellationToken)
    {
        for (int i; (i = Interlocked.Increment(ref _next)) < orders.Count;)
        {
            var order = orders[i];
            Interlocked.Increment(ref _sent);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (clock.Elapsed > Deadline)
                {
                    Interlocked.Increment(ref _givenUp);
                    _errors.Enqueue($"{order.OrderId}: not acknowledged within {Deadline.TotalSeconds} s");
                    break;
                }
                Interlocked.Increment(ref _attempts);
                try
                {
                    var result = await attribution.RecordConversionAsync(order, cancellationToken).ConfigureAwait(false);
                    Acknowledge(order.OrderId, result);
                    break;
                }
                catch (NpgsqlException e) when (e.IsTransient)
                {
                    Interlocked.Increment(ref _transientFailures);
                    _failureKinds.AddOrUpdate(Kind(e), 1, static (_, n) => n + 1);
                    OnTransientFailure?.Invoke(e);
                    if (RetryDelay > TimeSpan.Zero)
                    {
                        await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _givenUp);
                    _errors.Enqueue($"{order.OrderId}: {Describe(e)}");
                    lock (_errors)
                    {
                        FirstError ??= e;
                    }
                    break;
                }
            }
        }
    }

    private void Acknowledge(string orderId, AttributionResult result)
    {
        _acknowledged[orderId] = result;
        lock (_waiters)
        {
            for (int w = _waiters.Count - 1; w >= 0; w--)
            {
                if (_acknowledged.Count >= _waiters[w].Count)
                {
                    _waiters[w].Reached.TrySetResult();
                    _waiters.RemoveAt(w);
                }
            }
        }
    }

    /// <summary>A transient failure's kind: the server's SQLSTATE, else the exception and its innermost cause.</summary>
    internal static string Kind(NpgsqlException e)
    {
        if (e is PostgresException pg)
        {
            return $"{pg.SqlState} {pg.MessageText}";
        }
        var inner = e.GetBaseException();
        return ReferenceEquals(inner, e) ? $"{e.GetType().Name}: {e.Message}" : $"{e.GetType().Name} ({inner.GetType().Name}: {inner.Message})";
    }

    /// <summary>An exception and its causes, one line.</summary>
    internal static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x is PostgresException pg
                ? string.Create(CultureInfo.InvariantCulture, $"{x.GetType().Name} {pg.SqlState}: {pg.MessageText}")
                : $"{x.GetType().Name}: {x.Message}{(x is NpgsqlException n ? $" (IsTransient={n.IsTransient})" : "")}");
        }
        return string.Join(" <- ", parts);
    }
}
