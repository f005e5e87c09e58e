namespace Referrals.Programs;

/// <summary>Which earlier touch earns the credit when no code was presented at the conversion itself.</summary>
public enum TouchPrecedence
{
    /// <summary>The most recent touch within the window (the default).</summary>
    LastTouch = 1,

    /// <summary>The earliest touch within the window.</summary>
    FirstTouch = 2,
}

/// <summary>What happens to a friend's later conversions once one was attributed.</summary>
public enum StickyReferee
{
    /// <summary>Later conversions stay with the same referrer, marked as repeats (the default).</summary>
    SameReferrer = 1,

    /// <summary>Later conversions are not credited again.</summary>
    NotCreditedAgain = 2,

    /// <summary>Every conversion is decided on its own touches.</summary>
    Off = 3,
}

/// <summary>
/// One referral program's rules, configured under <c>Referrals:Programs:{id}</c>. Local dates and times are read in
/// <see cref="TimeZone"/>: a program that "ends Sunday midnight" ends at midnight there.
/// </summary>
public sealed class ProgramOptions
{
    /// <summary>IANA time zone id (<c>Europe/Berlin</c>, <c>America/New_York</c>). Default <c>UTC</c>.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Local date or date-time in <see cref="TimeZone"/> from which the program runs (<c>2026-11-27</c> or <c>2026-11-27T09:00</c>), in the years 1 to 9998; <see langword="null"/> for always.</summary>
    public string? ActiveFrom { get; set; }

    /// <summary>Local date or date-time in <see cref="TimeZone"/> at which the program stops (exclusive), in the years 1 to 9998; <see langword="null"/> for never.</summary>
    public string? ActiveUntil { get; set; }

    /// <summary>How long before a conversion a touch still counts. 1 hour to 366 days; default 30 days.</summary>
    public TimeSpan AttributionWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>First or last touch, when no code was presented at the conversion. Default <see cref="TouchPrecedence.LastTouch"/>.</summary>
    public TouchPrecedence Precedence { get; set; } = TouchPrecedence.LastTouch;

    /// <summary>A code typed at checkout or scanned at the till beats every earlier touch. Default <see langword="true"/>.</summary>
    public bool CodeAtConversionWins { get; set; } = true;

    /// <summary>What happens to a friend's later conversions. Default <see cref="StickyReferee.SameReferrer"/>.</summary>
    public StickyReferee Sticky { get; set; } = StickyReferee.SameReferrer;

    /// <summary>Only a friend's first conversion (or one the host flags as new) can be referred. Default <see langword="true"/>.</summary>
    public bool NewCustomersOnly { get; set; } = true;

    /// <summary>Minimum order value per currency (<c>{ "EUR": 20 }</c>), 0 to 1,000,000,000,000 (10^12); a currency not listed has no minimum.</summary>
    public IDictionary<string, decimal> MinimumOrder { get; set; } = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Levels of the referral chain recorded on an attribution: 1 is the referrer only. 1 to 10; default 3.</summary>
    public int MaxChainDepth { get; set; } = 3;

    /// <summary>The reward rules, hold period, boosts and caps; <see langword="null"/> or no rules for a program without rewards.</summary>
    public Rewards.RewardOptions? Rewards { get; set; }

    /// <summary>The fraud policy: thresholds, signal scores, review deadline; <see langword="null"/> for the defaults (the built-in checks on).</summary>
    public Fraud.FraudPolicyOptions? Fraud { get; set; }
}
