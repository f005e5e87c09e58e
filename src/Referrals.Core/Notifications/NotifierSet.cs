using Microsoft.Extensions.Logging;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Rewards;

namespace Referrals.Notifications;

/// <summary>
/// The registered notifiers with their names, told one after another. A notifier's exception is logged, counted and
/// reported to the caller (which keeps the notification for another attempt), never passed on: the change it reports
/// stands. Only the caller's own cancellation propagates.
/// </summary>
internal sealed partial class NotifierSet
{
    private readonly IReferralNotifier[] _notifiers;
    private readonly string[] _names;
    private readonly ILogger _logger;

    public NotifierSet(IEnumerable<IReferralNotifier> notifiers, ILogger logger)
    {
        _notifiers = Preconditions.CheckNotNull(notifiers).ToArray();
        _logger = logger;
        _names = new string[_notifiers.Length];
        var seen = new Dictionary<Type, int>();
        for (int i = 0; i < _notifiers.Length; i++)
        {
            var type = Preconditions.CheckNotNull(_notifiers[i], "notifiers[" + i + "]").GetType();
            int n = seen[type] = seen.GetValueOrDefault(type) + 1;
            string name = type.FullName ?? type.Name;
            _names[i] = n == 1 ? name : name + "#" + n;
        }
    }

    /// <summary>True when no notifier is registered: nothing to tell, nothing to keep pending.</summary>
    public bool IsEmpty => _notifiers.Length == 0;

    /// <summary>The notifiers' names, in registration order (see <see cref="IReferralNotifier"/>).</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>
    /// Tells every notifier not named in <paramref name="told"/> of <paramref name="payload"/> (the attribution, ledger
    /// entry or touch a notification of <paramref name="kind"/> reports).
    /// </summary>
    /// <returns>The notifiers that threw, with their exceptions' types; <see langword="null"/> when none did.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a kind this version delivers.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled (the notifiers after stay untold).</exception>
    public async ValueTask<List<NotifierFailure>?> TellAsync(NotificationKind kind, object payload, IReadOnlyList<string> told, CancellationToken ct)
    {
        if (!IsDeliverable(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a notification kind this version delivers.");
        }
        List<NotifierFailure>? failures = null;
        for (int i = 0; i < _notifiers.Length; i++)
        {
            if (told.Count > 0 && Contains(told, _names[i]))
            {
                continue;
            }
            try
            {
                var notifier = _notifiers[i];
                await (kind switch
                {
                    NotificationKind.ConversionDecided => notifier.OnConversionDecidedAsync((AttributionResult)payload, ct),
                    NotificationKind.RewardChanged => notifier.OnRewardChangedAsync((RewardEntry)payload, ct),
                    NotificationKind.ReferralCaptured => notifier.OnReferralCapturedAsync((Touch)payload, ct),
                    _ => throw new System.Diagnostics.UnreachableException(),
                }).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a notifier's failure must never undo or fail what it reports: it is kept for another attempt
            catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
#pragma warning restore CA1031
            {
                // A notifier's own timeout (an OperationCanceledException the caller did not ask for) is a failure like any.
                ReferralsTelemetry.NotifierFailures.Add(1);
                LogNotifierFailed(_logger, ex, _names[i]);
                (failures ??= []).Add(new NotifierFailure(_names[i], ex.GetType().FullName ?? ex.GetType().Name));
            }
        }
        return failures;
    }

    /// <summary>Whether this version knows how to deliver notifications of <paramref name="kind"/> (a newer one may write others).</summary>
    public static bool IsDeliverable(NotificationKind kind) =>
        kind is NotificationKind.ConversionDecided or NotificationKind.RewardChanged or NotificationKind.ReferralCaptured;

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Notifier {Notifier} failed; the change it was told of stands, and the notification is kept to be delivered again")]
    private static partial void LogNotifierFailed(ILogger logger, Exception exception, string notifier);
}
