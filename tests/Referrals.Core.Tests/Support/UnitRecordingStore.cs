using System.Reflection;
using System.Runtime.ExceptionServices;
using Referrals.Storage;

namespace Referrals.Tests.Support;

/// <summary>
/// A store of the contract behind a second object: records every unit of work its sessions are given, and can make the
/// next session's commit fail as a process or disk would fail in the middle of it (before anything is committed).
/// </summary>
public class UnitRecordingStore : DispatchProxy
{
    private object _inner = null!;
    private Recording _recording = null!;

    /// <summary>What the sessions of one wrapped store were given, and the failure to inject.</summary>
    public sealed class Recording
    {
        /// <summary>Set to have the next session's commit throw an <see cref="IOException"/> instead of committing.</summary>
        public bool CrashNextCommit { get; set; }

        /// <summary>Every unit of work written, in order (whether or not its session committed).</summary>
        public List<UnitOfWork> Units { get; } = [];
    }

    public static (IReferralStore Store, Recording Recorder) Wrap(IReferralStore inner)
    {
        var recording = new Recording();
        var proxy = Create<IReferralStore, UnitRecordingStore>();
        var self = (UnitRecordingStore)(object)proxy;
        self._inner = inner;
        self._recording = recording;
        return (proxy, recording);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (_inner is IReferralStore store && targetMethod.Name == nameof(IReferralStore.BeginAsync))
        {
            return BeginAsync(store, (CancellationToken)args![0]!);
        }
        if (_inner is IReferralStoreSession)
        {
            if (targetMethod.Name == nameof(IReferralStoreSession.WriteAsync))
            {
                _recording.Units.Add((UnitOfWork)args![0]!);
            }
            else if (targetMethod.Name == nameof(IReferralStoreSession.CommitAsync) && _recording.CrashNextCommit)
            {
                _recording.CrashNextCommit = false;
                return ValueTask.FromException(new IOException("disk I/O error (simulated)"));
            }
        }
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    private async ValueTask<IReferralStoreSession> BeginAsync(IReferralStore store, CancellationToken ct)
    {
        var session = await store.BeginAsync(ct);
        var proxy = Create<IReferralStoreSession, UnitRecordingStore>();
        var self = (UnitRecordingStore)(object)proxy;
        self._inner = session;
        self._recording = _recording;
        return proxy;
    }
}
