using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Rewards;

namespace Referrals.Programs;

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

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Programs:customers:TimeZone</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        if (string.IsNullOrEmpty(TimeZone) || NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(TimeZone) is null)
        {
            f.Add($"{path}:TimeZone must be an IANA time zone id such as Europe/Berlin; got '{TimeZone}'.");
        }
        NodaTime.LocalDateTime from = default, until = default;
        bool hasFrom = ActiveFrom is not null && LocalDates.TryParse(ActiveFrom, out from);
        bool hasUntil = ActiveUntil is not null && LocalDates.TryParse(ActiveUntil, out until);
        if (ActiveFrom is not null && !hasFrom)
        {
            f.Add($"{path}:ActiveFrom must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{ActiveFrom}'.");
        }
        if (ActiveUntil is not null && !hasUntil)
        {
            f.Add($"{path}:ActiveUntil must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{ActiveUntil}'.");
        }
        if (hasFrom && !LocalDates.IsSupported(from))
        {
            f.Add($"{path}:ActiveFrom must lie in the years {LocalDates.SupportedYears} (so that it is an instant in every time zone); got '{ActiveFrom}'.");
        }
        if (hasUntil && !LocalDates.IsSupported(until))
        {
            f.Add($"{path}:ActiveUntil must lie in the years {LocalDates.SupportedYears} (so that it is an instant in every time zone); got '{ActiveUntil}'.");
        }
        if (hasFrom && hasUntil && until <= from)
        {
            f.Add($"{path}:ActiveUntil ({ActiveUntil}) must be after ActiveFrom ({ActiveFrom}).");
        }
        if (AttributionWindow < TimeSpan.FromHours(1) || AttributionWindow > TimeSpan.FromDays(366))
        {
            f.Add($"{path}:AttributionWindow must be 1 hour to 366 days; got {AttributionWindow}.");
        }
        if (!Enum.IsDefined(Precedence))
        {
            f.Add($"{path}:Precedence must be LastTouch or FirstTouch; got {Precedence}.");
        }
        if (!Enum.IsDefined(Sticky))
        {
            f.Add($"{path}:Sticky must be SameReferrer, NotCreditedAgain or Off; got {Sticky}.");
        }
        if (MaxChainDepth is < 1 or > 10)
        {
            f.Add($"{path}:MaxChainDepth must be 1 to 10; got {MaxChainDepth}.");
        }
        if (Rewards is not null)
        {
            Rewards.Validate(MaxChainDepth, $"{path}:Rewards", f);
        }
        if (Fraud is not null)
        {
            Fraud.Validate($"{path}:Fraud", f);
        }
        foreach (var (currency, min) in MinimumOrder ?? new Dictionary<string, decimal>())
        {
            // Each part named on its own: the key (the currency) and the value (the amount) are different mistakes.
            if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
            {
                f.Add($"{path}:MinimumOrder: the key must be a three-letter currency code such as EUR; got '{currency}'.");
            }
            if (min < 0 || min > AmountLimits.MaxAmount)
            {
                f.Add($"{path}:MinimumOrder:{currency} must be a three-letter currency with an amount of 0 to {AmountLimits.MaxAmountText}; got {min}.");
            }
        }
    }
}
