using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Privacy;

namespace Referrals;

/// <summary>
/// Checks <see cref="ReferralsOptions"/> and lists every bad setting by its configuration path
/// (<c>Referrals:Codes:Length</c>). Used by dependency injection at start and by every non-DI constructor.
/// </summary>
/// <remarks>
/// Options bound from configuration by <c>AddReferrals(IConfiguration)</c> also carry what the strict binding found —
/// values that could not be converted, keys that name no setting — listed first in the same result. Besides each
/// setting's range, the checks make sure nothing accepted can fail later: amounts bounded so that no reward computation
/// overflows, local dates that are instants in every time zone, and a link template that builds links which read back.
/// </remarks>
public sealed class ReferralsOptionsValidator : IValidateOptions<ReferralsOptions>
{
    // What the strict binding of the configuration section found (values it could not convert, keys naming no setting),
    // by the options instance it bound: reported first, in the same message as every other bad setting.
    private static readonly ConditionalWeakTable<ReferralsOptions, IReadOnlyList<string>> BindingFailures = new();

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ReferralsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Validates options built in code, outside dependency injection.</summary>
    /// <exception cref="OptionsValidationException">One or more settings are bad; <see cref="OptionsValidationException.Failures"/> lists each, and the message all of them.</exception>
    public static void ThrowIfInvalid(ReferralsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ReferralsOptions), failures);
        }
    }

    /// <summary>Records what binding the configuration into <paramref name="options"/> could not do (see <c>StrictConfigurationBinder</c>).</summary>
    internal static void RecordBindingFailures(ReferralsOptions options, IReadOnlyList<string> failures) =>
        BindingFailures.AddOrUpdate(options, failures);

    private static List<string> Collect(ReferralsOptions options)
    {
        var f = new List<string>();
        if (BindingFailures.TryGetValue(options, out var binding))
        {
            f.AddRange(binding);
        }
        const string root = ReferralsOptions.SectionName;
        if (options.Codes is null)
        {
            f.Add($"{root}:Codes is required.");
        }
        else
        {
            ValidateCodes(options.Codes, $"{root}:Codes", f);
        }
        if (options.Vanity is null)
        {
            f.Add($"{root}:Vanity is required.");
        }
        else
        {
            ValidateVanity(options.Vanity, $"{root}:Vanity", f);
        }
        if (options.Links is null)
        {
            f.Add($"{root}:Links is required.");
        }
        else
        {
            int before = f.Count;
            ValidateLinks(options.Links, $"{root}:Links", f);
            if (f.Count == before)
            {
                ValidateLinkRoundTrip(options, $"{root}:Links", f);
            }
        }
        if (options.Privacy is null)
        {
            f.Add($"{root}:Privacy is required.");
        }
        else
        {
            ValidatePrivacy(options.Privacy, $"{root}:Privacy", f);
        }
        if (options.Fraud is null)
        {
            f.Add($"{root}:Fraud is required.");
        }
        else
        {
            ValidateFraud(options.Fraud, $"{root}:Fraud", f);
        }
        if (options.Notifications is null)
        {
            f.Add($"{root}:Notifications is required.");
        }
        else
        {
            options.Notifications.Validate($"{root}:Notifications", f);
        }
        if (options.Programs is null)
        {
            f.Add($"{root}:Programs is required (it may be empty).");
        }
        else
        {
            foreach (var (id, program) in options.Programs)
            {
                ValidateProgram(id, program, $"{root}:Programs:{id}", f);
            }
        }
        return f;
    }

    private static void ValidateProgram(string id, ProgramOptions? o, string path, List<string> f)
    {
        if (string.IsNullOrEmpty(id) || id.Length > ProgramId.MaxLength || char.IsWhiteSpace(id[0]) || char.IsWhiteSpace(id[^1]))
        {
            f.Add($"{path}: a program id is 1 to {ProgramId.MaxLength} characters without surrounding white space; got '{id}'.");
        }
        if (o is null)
        {
            f.Add($"{path} is empty.");
            return;
        }
        if (string.IsNullOrEmpty(o.TimeZone) || NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(o.TimeZone) is null)
        {
            f.Add($"{path}:TimeZone must be an IANA time zone id such as Europe/Berlin; got '{o.TimeZone}'.");
        }
        NodaTime.LocalDateTime from = default, until = default;
        bool hasFrom = o.ActiveFrom is not null && LocalDates.TryParse(o.ActiveFrom, out from);
        bool hasUntil = o.ActiveUntil is not null && LocalDates.TryParse(o.ActiveUntil, out until);
        if (o.ActiveFrom is not null && !hasFrom)
        {
            f.Add($"{path}:ActiveFrom must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{o.ActiveFrom}'.");
        }
        if (o.ActiveUntil is not null && !hasUntil)
        {
            f.Add($"{path}:ActiveUntil must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{o.ActiveUntil}'.");
        }
        if (hasFrom && !LocalDates.IsSupported(from))
        {
            f.Add($"{path}:ActiveFrom must lie in the years {LocalDates.SupportedYears} (so that it is an instant in every time zone); got '{o.ActiveFrom}'.");
        }
        if (hasUntil && !LocalDates.IsSupported(until))
        {
            f.Add($"{path}:ActiveUntil must lie in the years {LocalDates.SupportedYears} (so that it is an instant in every time zone); got '{o.ActiveUntil}'.");
        }
        if (hasFrom && hasUntil && until <= from)
        {
            f.Add($"{path}:ActiveUntil ({o.ActiveUntil}) must be after ActiveFrom ({o.ActiveFrom}).");
        }
        if (o.AttributionWindow < TimeSpan.FromHours(1) || o.AttributionWindow > TimeSpan.FromDays(366))
        {
            f.Add($"{path}:AttributionWindow must be 1 hour to 366 days; got {o.AttributionWindow}.");
        }
        if (!Enum.IsDefined(o.Precedence))
        {
            f.Add($"{path}:Precedence must be LastTouch or FirstTouch; got {o.Precedence}.");
        }
        if (!Enum.IsDefined(o.Sticky))
        {
            f.Add($"{path}:Sticky must be SameReferrer, NotCreditedAgain or Off; got {o.Sticky}.");
        }
        if (o.MaxChainDepth is < 1 or > 10)
        {
            f.Add($"{path}:MaxChainDepth must be 1 to 10; got {o.MaxChainDepth}.");
        }
        if (o.Rewards is not null)
        {
            ValidateRewards(o.Rewards, o.MaxChainDepth, $"{path}:Rewards", f);
        }
        if (o.Fraud is not null)
        {
            ValidateFraudPolicy(o.Fraud, $"{path}:Fraud", f);
        }
        foreach (var (currency, min) in o.MinimumOrder ?? new Dictionary<string, decimal>())
        {
            if (currency.Length != 3 || !currency.All(char.IsAsciiLetter) || min < 0 || min > AmountLimits.MaxAmount)
            {
                f.Add($"{path}:MinimumOrder:{currency} must be a three-letter currency with an amount of 0 to {AmountLimits.MaxAmountText}; got {min}.");
            }
        }
    }

    private static void ValidateFraud(Fraud.FraudOptions o, string path, List<string> f)
    {
        var domains = o.DisposableDomains ?? [];
        for (int i = 0; i < domains.Count; i++)
        {
            if (!DisposableEmailDomainList.IsValidDomain(domains[i]))
            {
                f.Add($"{path}:DisposableDomains:{i} must be a domain name of at least two labels; got '{domains[i]}'.");
            }
        }
        if (o.CodeGuessing is not { } g)
        {
            f.Add($"{path}:CodeGuessing is required.");
            return;
        }
        if (g.MaxFailures is < 1 or > 10_000)
        {
            f.Add($"{path}:CodeGuessing:MaxFailures must be 1 to 10,000; got {g.MaxFailures}.");
        }
        if (g.Window < TimeSpan.FromSeconds(1) || g.Window > TimeSpan.FromDays(1))
        {
            f.Add($"{path}:CodeGuessing:Window must be 1 second to 1 day; got {g.Window}.");
        }
        if (g.MaxSources is < 16 or > 16_777_216)
        {
            f.Add($"{path}:CodeGuessing:MaxSources must be 16 to 16,777,216; got {g.MaxSources}.");
        }
        if (g.MaxFailuresPerProgram is < 1 or > 1_000_000)
        {
            f.Add($"{path}:CodeGuessing:MaxFailuresPerProgram must be 1 to 1,000,000; got {g.MaxFailuresPerProgram}.");
        }
    }

    private static void ValidateFraudPolicy(Fraud.FraudPolicyOptions o, string path, List<string> f)
    {
        if (o.ReviewAt is < 1 or > 1000)
        {
            f.Add($"{path}:ReviewAt must be 1 to 1,000; got {o.ReviewAt}.");
        }
        if (o.BlockAt is < 1 or > 1000 || o.BlockAt < o.ReviewAt)
        {
            f.Add($"{path}:BlockAt must be 1 to 1,000 and at least ReviewAt ({o.ReviewAt}); got {o.BlockAt}.");
        }
        foreach (var (name, score) in o.Scores ?? new Dictionary<string, int>())
        {
            if (string.IsNullOrWhiteSpace(name) || score is < 0 or > 1000)
            {
                f.Add($"{path}:Scores:{name} must be 0 to 1,000; got {score}.");
            }
        }
        foreach (var (name, value) in new[]
        {
            (nameof(o.MaxReferralsPerHour), o.MaxReferralsPerHour),
            (nameof(o.MaxReferralsPerDay), o.MaxReferralsPerDay),
            (nameof(o.MaxConversionsPerHour), o.MaxConversionsPerHour),
            (nameof(o.MaxConversionsPerDay), o.MaxConversionsPerDay),
            (nameof(o.MaxFriendsPerDevicePerDay), o.MaxFriendsPerDevicePerDay),
            (nameof(o.MaxFriendsPerIpPerDay), o.MaxFriendsPerIpPerDay),
        })
        {
            if (value is < 0 or > 1_000_000)
            {
                f.Add($"{path}:{name} must be 0 to 1,000,000; got {value}.");
            }
        }
        if (o.MaxRefundRate is < 0 or > 1)
        {
            f.Add($"{path}:MaxRefundRate must be 0 to 1; got {o.MaxRefundRate}.");
        }
        if (o.MinOrdersForRefundRate < 1)
        {
            f.Add($"{path}:MinOrdersForRefundRate must be 1 or more; got {o.MinOrdersForRefundRate}.");
        }
        if (o.ReviewDeadline is { } d && (d < TimeSpan.FromMinutes(1) || d > TimeSpan.FromDays(366)))
        {
            f.Add($"{path}:ReviewDeadline must be 1 minute to 366 days; got {d}.");
        }
        if (!Enum.IsDefined(o.AfterReviewDeadline))
        {
            f.Add($"{path}:AfterReviewDeadline must be KeepHolding, Release or Reject; got {o.AfterReviewDeadline}.");
        }
    }

    private static void ValidateRewards(RewardOptions o, int maxChainDepth, string path, List<string> f)
    {
        if (o.HoldPeriod < TimeSpan.Zero || o.HoldPeriod > TimeSpan.FromDays(366))
        {
            f.Add($"{path}:HoldPeriod must be 0 to 366 days; got {o.HoldPeriod}.");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < (o.Rules?.Count ?? 0); i++)
        {
            var r = o.Rules![i];
            string at = $"{path}:Rules:{i}";
            if (r is null)
            {
                f.Add($"{at} is empty.");
                continue;
            }
            string rule = $"{at} ('{r.Name}')";
            if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > 64)
            {
                f.Add($"{at}:Name is required, 1 to 64 characters.");
            }
            else if (!names.Add(r.Name))
            {
                f.Add($"{rule}:Name is used by another rule of the program; rule names are unique.");
            }
            if (!Enum.IsDefined(r.For))
            {
                f.Add($"{rule}:For must be Referrer or Referee; got {r.For}.");
            }
            if (!Enum.IsDefined(r.Kind))
            {
                f.Add($"{rule}:Kind must be AccountCredit, Coupon, Points, Cash, GiftCard or FreeProduct; got {r.Kind}.");
            }
            if (r.For == RewardRole.Referee && r.Level != 1)
            {
                f.Add($"{rule}:Level applies to referrer rules only; a referee rule has level 1, got {r.Level}.");
            }
            if (r.For == RewardRole.Referrer && (r.Level < 1 || r.Level > maxChainDepth))
            {
                f.Add($"{rule}:Level must be 1 to the program's MaxChainDepth ({maxChainDepth}); got {r.Level}.");
            }
            bool tiers = r.Tiers is { Count: > 0 };
            if (r.Milestone is { } m && (m < 1 || tiers))
            {
                f.Add($"{rule}:Milestone must be 1 or more and cannot be combined with Tiers; got {m}.");
            }
            if (tiers)
            {
                if (r.Amount is not null || r.Percent is not null)
                {
                    f.Add($"{rule}: give the amount on each tier or on the rule, not both.");
                }
                int last = 0;
                for (int t = 0; t < r.Tiers!.Count; t++)
                {
                    var tier = r.Tiers[t];
                    if (tier is null)
                    {
                        f.Add($"{rule}:Tiers:{t} is empty.");
                        continue;
                    }
                    if (tier.From <= last)
                    {
                        f.Add($"{rule}:Tiers:{t}:From must be 1 or more and above the previous tier's ({last}); got {tier.From}.");
                    }
                    last = Math.Max(last, tier.From);
                    ValidateAmount(r.Kind, tier.Amount, tier.Currency, tier.Percent, $"{rule}:Tiers:{t}", f);
                }
            }
            else
            {
                ValidateAmount(r.Kind, r.Amount, r.Currency, r.Percent, rule, f);
            }
        }
        var windows = new List<(RewardBoostOptions Boost, NodaTime.LocalDateTime From, NodaTime.LocalDateTime Until)>();
        for (int i = 0; i < (o.Boosts?.Count ?? 0); i++)
        {
            var b = o.Boosts![i];
            string at = $"{path}:Boosts:{i}";
            if (b is null)
            {
                f.Add($"{at} is empty.");
                continue;
            }
            string boost = $"{at} ('{b.Name}')";
            if (string.IsNullOrWhiteSpace(b.Name))
            {
                f.Add($"{at}:Name is required.");
            }
            bool hasFrom = LocalDates.TryParse(b.From ?? "", out var from);
            bool hasUntil = LocalDates.TryParse(b.Until ?? "", out var until);
            if (!hasFrom)
            {
                f.Add($"{boost}:From must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{b.From}'.");
            }
            if (!hasUntil)
            {
                f.Add($"{boost}:Until must be a local date (2026-11-27) or date-time (2026-11-27T09:00); got '{b.Until}'.");
            }
            if (hasFrom && !LocalDates.IsSupported(from))
            {
                f.Add($"{boost}:From must lie in the years {LocalDates.SupportedYears}; got '{b.From}'.");
            }
            if (hasUntil && !LocalDates.IsSupported(until))
            {
                f.Add($"{boost}:Until must lie in the years {LocalDates.SupportedYears}; got '{b.Until}'.");
            }
            if (hasFrom && hasUntil && until <= from)
            {
                f.Add($"{boost}:Until ({b.Until}) must be after From ({b.From}).");
            }
            bool factorsInRange = b.Multiply is >= 0 and <= AmountLimits.MaxBoostFactor && b.Add is >= 0 and <= AmountLimits.MaxAmount;
            if (!factorsInRange || (b.Multiply == 1 && b.Add == 0))
            {
                f.Add($"{boost}: Multiply must be 0 to {AmountLimits.MaxBoostFactor:0} and Add 0 to {AmountLimits.MaxAmountText}, and together change something; got Multiply {b.Multiply}, Add {b.Add}.");
            }
            else if (hasFrom && hasUntil && until > from)
            {
                windows.Add((b, from, until));
            }
            foreach (var name in b.Rules ?? [])
            {
                if (!names.Contains(name))
                {
                    f.Add($"{boost}:Rules names '{name}', which is not a rule of the program.");
                }
            }
        }
        ValidateBoostOverlaps(o.Rules, windows, $"{path}:Boosts", f);
        for (int i = 0; i < (o.Caps?.Count ?? 0); i++)
        {
            var c = o.Caps![i];
            string at = $"{path}:Caps:{i}";
            if (c is null)
            {
                f.Add($"{at} is empty.");
                continue;
            }
            if (!Enum.IsDefined(c.Period))
            {
                f.Add($"{at}:Period must be Day, Week, Month, Year or Lifetime; got {c.Period}.");
            }
            if (!Enum.IsDefined(c.Policy))
            {
                f.Add($"{at}:Policy must be ReduceToRemainder or Skip; got {c.Policy}.");
            }
            if (c.MaxCount is null && c.MaxAmount is null)
            {
                f.Add($"{at}: a cap needs MaxCount, MaxAmount or both.");
            }
            if (c.MaxCount is < 1)
            {
                f.Add($"{at}:MaxCount must be 1 or more; got {c.MaxCount}.");
            }
            if (c.MaxAmount is { } max && (max <= 0 || max > AmountLimits.MaxAmount || !IsCurrency(c.Currency)))
            {
                f.Add($"{at}:MaxAmount must be more than zero and at most {AmountLimits.MaxAmountText} with a three-letter Currency (PTS for points); got {max} '{c.Currency}'.");
            }
        }
    }

    private static void ValidateAmount(RewardKind kind, decimal? amount, string? currency, decimal? percent, string at, List<string> f)
    {
        if ((amount is null) == (percent is null))
        {
            f.Add($"{at}: give exactly one of Amount (with Currency) or Percent.");
            return;
        }
        if (amount is { } a && (a <= 0 || a > AmountLimits.MaxAmount))
        {
            f.Add($"{at}:Amount must be more than zero and at most {AmountLimits.MaxAmountText}; got {a}.");
        }
        if (amount is not null && kind != RewardKind.Points && !IsCurrency(currency))
        {
            f.Add($"{at}:Currency must be a three-letter ISO 4217 code for a fixed amount; got '{currency}'.");
        }
        if (kind == RewardKind.Points && currency is not null && !string.Equals(currency, Money.PointsCurrency, StringComparison.OrdinalIgnoreCase))
        {
            f.Add($"{at}:Currency of a points reward is PTS or nothing; got '{currency}'.");
        }
        if (percent is { } p && (p <= 0 || p > AmountLimits.MaxPercent))
        {
            f.Add($"{at}:Percent must be more than 0 and at most {AmountLimits.MaxPercent:0}; got {p}.");
        }
    }

    /// <summary>
    /// Boosts whose windows overlap compound (each multiplies what the one before left): at any instant, those that apply to
    /// a rule may multiply it by at most <see cref="AmountLimits.MaxBoostFactor"/> in total (a factor below 1 counted as 1,
    /// so no step between them exceeds it) and add at most <see cref="AmountLimits.MaxAmount"/>, so no reward can overflow.
    /// </summary>
    private static void ValidateBoostOverlaps(
        IList<RewardRuleOptions>? rules,
        List<(RewardBoostOptions Boost, NodaTime.LocalDateTime From, NodaTime.LocalDateTime Until)> windows,
        string path,
        List<string> f)
    {
        if (windows.Count < 2)
        {
            return;
        }
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules ?? [])
        {
            if (rule is null)
            {
                continue;
            }
            var applying = windows.Where(w => w.Boost.Rules is not { Count: > 0 } || w.Boost.Rules.Contains(rule.Name)).ToList();
            // The most boosts are in force at the start of one of them.
            foreach (var start in applying)
            {
                decimal factor = 1, added = 0;
                var together = new List<string>();
                foreach (var w in applying)
                {
                    if (w.From <= start.From && start.From < w.Until)
                    {
                        together.Add(w.Boost.Name);
                        // Each is at most the limit (checked above), so the running values stop growing once past it.
                        factor = factor > AmountLimits.MaxBoostFactor ? factor : factor * Math.Max(w.Boost.Multiply, 1m);
                        added = added > AmountLimits.MaxAmount ? added : added + w.Boost.Add;
                    }
                }
                if ((factor > AmountLimits.MaxBoostFactor || added > AmountLimits.MaxAmount) && reported.Add(string.Join('\n', together)))
                {
                    f.Add($"{path}: the boosts '{string.Join("', '", together)}' all apply to rule '{rule.Name}' at {start.From:uuuu'-'MM'-'dd'T'HH':'mm}; "
                        + $"boosts in force together may multiply a reward by at most {AmountLimits.MaxBoostFactor:0} in all (factors below 1 count as 1) and add at most {AmountLimits.MaxAmountText} in all.");
                }
            }
        }
    }

    private static bool IsCurrency(string? currency) => currency is { Length: 3 } && currency.All(char.IsAsciiLetter);

    private static void ValidateCodes(CodeOptions o, string path, List<string> f)
    {
        if (o.Length is < 4 or > 24)
        {
            f.Add($"{path}:Length must be 4 to 24 symbols; got {o.Length}.");
        }
        if (o.GroupSize is < 0 or > 12)
        {
            f.Add($"{path}:GroupSize must be 0 (no groups) to 12; got {o.GroupSize}.");
        }
        if (o.MaxUniquenessAttempts is < 1 or > 1000)
        {
            f.Add($"{path}:MaxUniquenessAttempts must be 1 to 1000; got {o.MaxUniquenessAttempts}.");
        }
        if (o.MaxBlocklistAttempts is < 1 or > 10000)
        {
            f.Add($"{path}:MaxBlocklistAttempts must be 1 to 10000; got {o.MaxBlocklistAttempts}.");
        }
        if (o.Prefix is not null)
        {
            ValidatePrefix(o.Prefix, $"{path}:Prefix", f);
        }
        var prefixes = o.AdditionalPrefixes ?? [];
        for (int i = 0; i < prefixes.Count; i++)
        {
            ValidatePrefix(prefixes[i], $"{path}:AdditionalPrefixes:{i}", f);
        }
        var words = o.BlockedWords ?? [];
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i] ?? string.Empty;
            if (w.Length < 3 || !w.All(char.IsAsciiLetterOrDigit))
            {
                f.Add($"{path}:BlockedWords:{i} must be at least 3 ASCII letters or digits; got '{w}'.");
            }
        }
    }

    private static void ValidatePrefix(string? prefix, string path, List<string> f)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > 8 || !prefix.All(char.IsAsciiLetterOrDigit))
        {
            f.Add($"{path} must be 1 to 8 ASCII letters or digits; got '{prefix}'.");
        }
    }

    private static void ValidateVanity(VanityCodeOptions o, string path, List<string> f)
    {
        if (o.MinLength is < 3 or > 24)
        {
            f.Add($"{path}:MinLength must be 3 to 24; got {o.MinLength}.");
        }
        if (o.MaxLength < o.MinLength || o.MaxLength > 24)
        {
            f.Add($"{path}:MaxLength must be MinLength ({o.MinLength}) to 24; got {o.MaxLength}.");
        }
        var words = o.ReservedWords ?? [];
        for (int i = 0; i < words.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(words[i]) || CodeText.FoldToString(words[i]) is null)
            {
                f.Add($"{path}:ReservedWords:{i} must be letters and digits; got '{words[i]}'.");
            }
        }
    }

    private static void ValidateLinks(LinkOptions o, string path, List<string> f)
    {
        if (!Uri.TryCreate(o.Template?.Replace("{code}", "CODE", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            f.Add($"{path}:Template must be an absolute http or https URL; got '{o.Template}'.");
        }
        else
        {
            string t = o.Template!;
            int first = t.IndexOf("{code}", StringComparison.Ordinal);
            if (first >= 0 && t.IndexOf("{code}", first + 1, StringComparison.Ordinal) >= 0)
            {
                f.Add($"{path}:Template may contain {{code}} once; got '{t}'.");
            }
            if (first >= 0 && (uri.Query.Contains("CODE", StringComparison.Ordinal) || uri.Fragment.Contains("CODE", StringComparison.Ordinal)))
            {
                f.Add($"{path}:Template must carry {{code}} in its path (put it nowhere to use the {o.CodeParameter} query parameter); got '{t}'.");
            }
        }
        var hosts = o.AdditionalHosts ?? [];
        for (int i = 0; i < hosts.Count; i++)
        {
            if (Uri.CheckHostName(hosts[i]) == UriHostNameType.Unknown)
            {
                f.Add($"{path}:AdditionalHosts:{i} must be a host name; got '{hosts[i]}'.");
            }
        }
        string?[] names = [o.CodeParameter, o.MediumParameter, o.KeyIdParameter, o.SignatureParameter];
        string[] labels = ["CodeParameter", "MediumParameter", "KeyIdParameter", "SignatureParameter"];
        for (int i = 0; i < names.Length; i++)
        {
            string? n = names[i];
            if (string.IsNullOrEmpty(n) || n.Length > 32 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                f.Add($"{path}:{labels[i]} must be 1 to 32 letters, digits, '_', '-' or '.'; got '{n}'.");
            }
        }
        if (names.Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Count(n => !string.IsNullOrEmpty(n)))
        {
            f.Add($"{path}: CodeParameter, MediumParameter, KeyIdParameter and SignatureParameter must differ; got '{string.Join("', '", names)}'.");
        }
        if (o.MaxLength is < 64 or > 8192)
        {
            f.Add($"{path}:MaxLength must be 64 to 8192; got {o.MaxLength}.");
        }
        var keys = o.SigningKeys ?? [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < keys.Count; i++)
        {
            var k = keys[i];
            string kp = $"{path}:SigningKeys:{i}";
            if (k is null)
            {
                f.Add($"{kp} is empty.");
                continue;
            }
            if (string.IsNullOrEmpty(k.Id) || k.Id.Length > 16 || !k.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                f.Add($"{kp}:Id must be 1 to 16 letters, digits, '-' or '_'; got '{k.Id}'.");
            }
            else if (!seen.Add(k.Id))
            {
                f.Add($"{kp}:Id '{k.Id}' is used by another key.");
            }
            if (!Secrets.TryDecodeSecret(k.Secret, out _))
            {
                f.Add($"{kp}:Secret must be base64 of at least {Secrets.MinSecretBytes} bytes (the secret itself is not shown).");
            }
        }
        if (o.ActiveSigningKeyId is not null && !seen.Contains(o.ActiveSigningKeyId))
        {
            f.Add($"{path}:ActiveSigningKeyId '{o.ActiveSigningKeyId}' names no key in {path}:SigningKeys.");
        }
        if (o.RequireSignature == true && keys.Count == 0)
        {
            f.Add($"{path}:RequireSignature is true but {path}:SigningKeys is empty: no link could be verified, so every link would be refused.");
        }
        else if (o.RequireSignature is null && keys.Count > 0 && o.ActiveSigningKeyId is null)
        {
            f.Add($"{path}:RequireSignature is unset, so signed links are required because {path}:SigningKeys has keys, but {path}:ActiveSigningKeyId is not set: the links built now are unsigned and would be refused. Set ActiveSigningKeyId, or set RequireSignature to true or false.");
        }
    }

    /// <summary>
    /// A template that passes the checks above must also work: a link built with it for the longest code the options let
    /// the library issue (generated or vanity), with the longest medium token and signed when signing is on, fits
    /// <see cref="LinkOptions.MaxLength"/>, is text a person can share (no white space, control, format, surrogate or
    /// unassigned characters: a shared link ends at the first space, and breaks on the others) and reads back as the same
    /// code and medium with the expected signature. This refuses, at start rather than at the first
    /// link, <c>{code}</c> in the host, a template query that carries the code, medium or signature parameter itself (a
    /// template ending <c>?ref=1</c>), and a path with dot segments or backslashes (the URL parser rewrites them, so the
    /// code is never found), and whatever else breaks the round trip.
    /// </summary>
    private static void ValidateLinkRoundTrip(ReferralsOptions options, string path, List<string> f)
    {
        var o = options.Links;
        ShareLinkService service;
        try
        {
            service = new ShareLinkService(options, validated: true);
        }
        catch (OptionsValidationException ex)
        {
            f.AddRange(ex.Failures);
            return;
        }
        catch (UriFormatException)
        {
            f.Add($"{path}:Template must be an absolute http or https URL; got '{o.Template}'.");
            return;
        }
        int symbols = Math.Clamp(
            Math.Max((options.Codes?.Length ?? 0) + (options.Codes?.UseCheckCharacter == true ? 1 : 0), options.Vanity?.MaxLength ?? 0),
            4,
            LongestSampleCode.Length);
        var code = ReferralCode.Parse(LongestSampleCode[..symbols]);
        const ShareMedium medium = ShareMedium.Messaging; // the longest medium token
        ShareLink link;
        try
        {
            link = service.Build(code, medium);
        }
        catch (ArgumentException)
        {
            f.Add($"{path}:MaxLength ({o.MaxLength}) is too small for links of {path}:Template: a {(o.ActiveSigningKeyId is null ? "" : "signed ")}link for a {symbols}-symbol code (the longest the code options allow) is longer.");
            return;
        }
        if (link.Url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || char.IsSurrogate(c)
            || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.OtherNotAssigned))
        {
            f.Add($"{path}:Template must not contain white space, control, format, surrogate or unassigned characters (a shared link ends at the first space, and breaks on the others); got '{Printable(o.Template)}'.");
            return;
        }
        var read = service.Parse(link.Url);
        var signature = o.ActiveSigningKeyId is null ? LinkSignatureStatus.Absent : LinkSignatureStatus.Valid;
        if (!read.IsSuccess || read.Code != code || read.Medium != medium || read.Signature != signature)
        {
            string got = read.IsSuccess
                ? $"code {read.Code}, medium {read.Medium}, signature {read.Signature}"
                : $"{read.Status}: {read.Detail}";
            f.Add($"{path}:Template cannot work: the link it builds ({link.Url}) reads back as {got}, not as code {code}, medium {medium}, signature {signature}; got '{o.Template}'.");
        }
    }

    /// <summary>The text with the characters a message cannot show (controls, format characters, surrogates, unassigned) as U+XXXX.</summary>
    private static string Printable(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || (char.IsWhiteSpace(c) && c != ' ')
                || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.OtherNotAssigned)
            {
                sb.Append("U+").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>25 symbols: the longest code the library issues (24 data symbols and a check symbol; vanity codes are at most 24).</summary>
    private const string LongestSampleCode = "ABCDEFGHJKMNPQRSTVWXYZ234";

    private static void ValidatePrivacy(PrivacyOptions o, string path, List<string> f)
    {
        // The key is optional here (hosts that never look contacts up need none); ContactHasher requires it.
        if (!string.IsNullOrEmpty(o.ContactHashKey) && !Secrets.TryDecodeSecret(o.ContactHashKey, out _))
        {
            f.Add($"{path}:ContactHashKey must be base64 of at least {Secrets.MinSecretBytes} bytes (the key itself is not shown).");
        }
        if (o.DefaultCountryCallingCode is not null && !ContactNormalizer.IsCountryCallingCode(o.DefaultCountryCallingCode))
        {
            f.Add($"{path}:DefaultCountryCallingCode must be 1 to 3 digits without a leading 0 or '+' (such as 1 or 49), or unset; got '{o.DefaultCountryCallingCode}'.");
        }
    }
}
