using Referrals.Internal;

namespace Referrals.Rewards;

/// <summary>
/// Validation of <see cref="RewardOptions"/> and what it holds (rules, tiers, boosts, caps), beside them: adds a message
/// naming the setting by its path (<c>Referrals:Programs:customers:Rewards:Rules:0:Amount</c>) for every bad one.
/// </summary>
internal static class RewardOptionsValidation
{
    /// <summary>Checks a program's rewards; <paramref name="maxChainDepth"/> bounds the levels of referrer rules.</summary>
    internal static void Validate(this RewardOptions o, int maxChainDepth, string path, List<string> f)
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
            // Against a MaxChainDepth that is itself out of range (reported on its own), only the level's own range is checked:
            // otherwise every rule would repeat that one mistake.
            if (r.For == RewardRole.Referrer && (r.Level < 1 || r.Level > (maxChainDepth is >= 1 and <= 10 ? maxChainDepth : 10)))
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
        // A fixed amount is paid in the currency's minor unit: finer would be rounded on every reward (0.001 EUR to
        // nothing at all, 0.5 JPY to 1 JPY), so it is refused here rather than paid as another amount.
        string? payIn = kind == RewardKind.Points ? Money.PointsCurrency : IsCurrency(currency) ? currency : null;
        if (amount is { } fixedAmount && fixedAmount > 0 && fixedAmount <= AmountLimits.MaxAmount && payIn is not null
            && Math.Round(fixedAmount, Money.MinorUnitDigits(payIn), MidpointRounding.AwayFromZero) != fixedAmount)
        {
            int digits = Money.MinorUnitDigits(payIn);
            f.Add($"{at}:Amount {fixedAmount} is finer than {payIn.ToUpperInvariant()}'s smallest unit ({(digits == 0 ? "whole units" : $"{digits} decimals")}): every reward would be rounded to {Math.Round(fixedAmount, digits, MidpointRounding.AwayFromZero)}.");
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
}
