using System.Collections.Concurrent;
using System.Reflection;
using Referrals.Storage;

namespace Referrals.Tests.Support;

/// <summary>
/// A store of the narrow contract that forwards to another and counts every call by method name — on the store and on
/// the sessions it begins — so a test can say how many reads an operation makes.
/// </summary>
public class CountingStore : DispatchProxy
{
    private object _inner = null!;
    private ConcurrentDictionary<string, int> _calls = null!;

    /// <summary>The calls so far, by method name.</summary>
    public IReadOnlyDictionary<string, int> Calls => _calls;

    public static (IReferralStore Store, CountingStore Counter) Wrap(IReferralStore inner)
    {
        var proxy = Create<IReferralStore, CountingStore>();
        var counter = (CountingStore)(object)proxy;
        counter._inner = inner;
        counter._calls = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        return (proxy, counter);
    }

    public void Reset() => _calls.Clear();

    /// <summary>How many calls of <paramref name="method"/> were made.</summary>
    public int this[string method] => _calls.GetValueOrDefault(method);

    /// <summary>Every read (not a write, commit, begin or dispose), by name.</summary>
    public SortedDictionary<string, int> Reads() =>
        new(_calls.Where(c => c.Key is not ("BeginAsync" or "WriteAsync" or "CommitAsync" or "DisposeAsync" or "AcknowledgeNotificationsAsync" or "TryUpdateNotificationsAsync" or "TryUpdateNotificationsAsync rows"))
            .ToDictionary(c => c.Key, c => c.Value), StringComparer.Ordinal);

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        _calls.AddOrUpdate(targetMethod.Name, 1, static (_, n) => n + 1);
        object? result;
        try
        {
            result = targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
        if (result is not null && result.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ValueTask<>)
            && type.GetGenericArguments()[0] is { IsGenericType: true } list && list.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            // Rows returned: what a read costs beyond its call (the store's lists complete synchronously in memory).
            var task = (Task)type.GetMethod("AsTask")!.Invoke(result, null)!;
            task.GetAwaiter().GetResult();
            var value = task.GetType().GetProperty("Result")!.GetValue(task);
            int rows = value is System.Collections.ICollection c ? c.Count : 0;
            _calls.AddOrUpdate(targetMethod.Name + " rows", rows, (_, n) => n + rows);
            return Activator.CreateInstance(type, value);
        }
        if (result is ValueTask<IReferralStoreSession> begun)
        {
            var session = begun.IsCompletedSuccessfully ? begun.Result : begun.AsTask().GetAwaiter().GetResult();
            var proxy = Create<IReferralStoreSession, CountingStore>();
            var counter = (CountingStore)(object)proxy;
            counter._inner = session;
            counter._calls = _calls;
            return new ValueTask<IReferralStoreSession>(proxy);
        }
        return result;
    }
}
