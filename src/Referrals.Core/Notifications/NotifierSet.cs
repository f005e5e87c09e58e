using Microsoft.Extensions.Logging;
using Referrals.Internal;

namespace Referrals.Notifications;

/// <summary>
/// The registered notifiers, told one after another. A notifier's exception is logged and counted, never passed on:
/// the change it reports stands.
/// </summary>
internal sealed partial class NotifierSet(IEnumerable<IReferralNotifier> notifiers, ILogger logger)
{
    private readonly IReferralNotifier[] _notifiers = Preconditions.CheckNotNull(notifiers).ToArray();

    /// <summary>True when no notifier is registered: nothing to tell, nothing to keep pending.</summary>
    public bool IsEmpty => _notifiers.Length == 0;

    public async ValueTask NotifyAsync<T>(T item, Func<IReferralNotifier, T, CancellationToken, ValueTask> call, CancellationToken ct)
    {
        foreach (var n in _notifiers)
        {
            try
            {
                await call(n, item, ct).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a notifier's failure must never undo or fail what it reports
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                ReferralsTelemetry.NotifierFailures.Add(1);
                LogNotifierFailed(logger, ex, n.GetType().Name);
            }
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Notifier {Notifier} failed; the change it was told of stands")]
    private static partial void LogNotifierFailed(ILogger logger, Exception exception, string notifier);
}
