using NodaTime;

namespace Referrals.Notifications;

/// <summary>
/// How notifications that a notifier failed to take are tried again, under <c>Referrals:Notifications</c>. After the
/// attempt right after the commit, attempt <c>n</c> failing schedules the next one <see cref="FirstRetryDelay"/> ×
/// 2<sup>n−1</sup> later, at most <see cref="MaxRetryDelay"/>; a lifecycle pass
/// (<c>RewardService.ProcessDueAsync</c>, every minute by default) makes it. After
/// <see cref="MaxAttempts"/> failed attempts the notification is dead-lettered. With the defaults the attempts come
/// 30 s, 1, 2, 4, 8, 16 and 32 min and then every hour after the first: the tenth fails about 3 hours 4 minutes after the
/// commit (plus up to a pass interval each).
/// </summary>
public sealed class NotificationOptions
{
    /// <summary>Failed attempts, the first included, after which a notification is dead-lettered. 1 to 1,000; default 10.</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The wait after the first failed attempt; each further failure doubles it. 1 second to 1 day; default 30 seconds.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two attempts. <see cref="FirstRetryDelay"/> to 7 days; default 1 hour.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Notifications:MaxAttempts</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> failures)
    {
        if (MaxAttempts is < 1 or > 1000)
        {
            failures.Add($"{path}:MaxAttempts must be 1 to 1000; got {MaxAttempts}.");
        }
        bool firstOk = FirstRetryDelay >= TimeSpan.FromSeconds(1) && FirstRetryDelay <= TimeSpan.FromDays(1);
        if (!firstOk)
        {
            failures.Add($"{path}:FirstRetryDelay must be 1 second to 1 day; got {FirstRetryDelay}.");
        }
        if (MaxRetryDelay > TimeSpan.FromDays(7) || (firstOk && MaxRetryDelay < FirstRetryDelay) || MaxRetryDelay < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{path}:MaxRetryDelay must be at least FirstRetryDelay ({FirstRetryDelay}) and at most 7 days; got {MaxRetryDelay}.");
        }
    }

    /// <summary>The wait after failed attempt number <paramref name="attempts"/> (1 for the first), for validated options.</summary>
    internal Duration RetryDelay(int attempts)
    {
        long max = MaxRetryDelay.Ticks;
        long delay = FirstRetryDelay.Ticks;
        // Doubling stops at the cap, so this never overflows: at most ~20 doublings from 1 second to 7 days.
        for (int i = 1; i < attempts && delay < max; i++)
        {
            delay *= 2;
        }
        return Duration.FromTicks(Math.Min(delay, max));
    }
}
