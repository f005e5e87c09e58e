using NodaTime;

namespace Referrals.Omnichannel;

/// <summary>
/// The story's clock: a <see cref="TimeProvider"/> that stands still until the story moves it forward, so one run can
/// tell a week (a next-day POS upload, a hold period ending) in a second. Registered in place of
/// <see cref="TimeProvider.System"/>; <c>AddReferrals</c> derives the library's <see cref="IClock"/> from it, so every
/// service and every timer reads this one time.
/// </summary>
public sealed class SimulatedTime : TimeProvider
{
    private readonly Lock _gate = new();
    private Instant _now;

    /// <summary>Starts at <paramref name="start"/>.</summary>
    public SimulatedTime(Instant start) => _now = start;

    /// <summary>The current simulated instant.</summary>
    public Instant Now
    {
        get
        {
            lock (_gate)
            {
                return _now;
            }
        }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => Now.ToDateTimeOffset();

    /// <summary>Moves the time forward to <paramref name="instant"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="instant"/> is before the current time: time never runs back.</exception>
    public void AdvanceTo(Instant instant)
    {
        lock (_gate)
        {
            if (instant < _now)
            {
                throw new ArgumentOutOfRangeException(nameof(instant), instant, $"The story's time cannot run back from {_now} to {instant}.");
            }
            _now = instant;
        }
    }
}
