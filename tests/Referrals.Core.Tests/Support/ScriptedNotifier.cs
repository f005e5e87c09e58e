using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;

namespace Referrals.Tests.Support;

/// <summary>
/// A notifier that records what it took, keyed as a notifier idempotent by ids would key it, and fails when told to:
/// while <see cref="Failing"/> is set, or when <see cref="FailWhen"/> says so for a call.
/// </summary>
internal sealed class ScriptedNotifier : IReferralNotifier
{
    private readonly List<string> _told = [];

    /// <summary>Every notification taken, in order: <c>captured:{touch id}</c>, <c>decided:{order id}</c>, <c>reward:{reward id}/{entry id}</c>.</summary>
    public IReadOnlyList<string> Told
    {
        get
        {
            lock (_told)
            {
                return _told.ToArray();
            }
        }
    }

    /// <summary>How many times it was called, failures included.</summary>
    public int Calls { get; private set; }

    public bool Failing { get; set; }

    /// <summary>Decides per call whether to fail (after <see cref="Failing"/>).</summary>
    public Func<bool>? FailWhen { get; set; }

    /// <summary>What it throws when failing.</summary>
    public Func<Exception> Failure { get; set; } = static () => new InvalidOperationException("mail server down");

    public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => Take("captured:" + touch.Id);

    public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => Take("decided:" + attribution.OrderId);

    public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => Take("reward:" + entry.RewardId + "/" + entry.EntryId);

    private ValueTask Take(string key)
    {
        Calls++;
        if (Failing || FailWhen?.Invoke() == true)
        {
            throw Failure();
        }
        lock (_told)
        {
            _told.Add(key);
        }
        return ValueTask.CompletedTask;
    }
}
