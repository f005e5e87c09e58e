using System.Globalization;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;

namespace Referrals.Rewards;

/// <summary>A program's reward options compiled once: tiers ordered, local boost windows turned into instants.</summary>
/// <remarks>Evaluation is a pure function of the attribution, the referral number and the cap usage it is given.</remarks>
internal sealed class RewardRuleSet
{
    private RewardRuleSet(DateTimeZone zone, Duration hold, CompiledRule[] rules, CompiledBoost[] boosts, CompiledCap[] caps)
    {
        Zone = zone;
        Hold = hold;
        Rules = rules;
        Boosts = boosts;
        Caps = caps;
        MaxLevel = rules.Where(r => r.Role == RewardRole.Referrer).Select(r => r.Level).DefaultIfEmpty(0).Max();
    }

    public DateTimeZone Zone { get; }

    public Duration Hold { get; }

    public CompiledRule[] Rules { get; }

    public CompiledBoost[] Boosts { get; }

    public CompiledCap[] Caps { get; }

    /// <summary>The index in <see cref="Caps"/> of the cap with a label (two caps with one label share a period and limits).</summary>
    public int CapIndexOf(string label) => Array.FindIndex(Caps, c => string.Equals(c.Label, label, StringComparison.Ordinal));

    /// <summary>The deepest referrer level a rule pays (0 when no referrer rule).</summary>
    public int MaxLevel { get; }

    /// <summary>Compiles validated options (validated with every other setting at start); <see langword="null"/> when there are no rules.</summary>
    public static RewardRuleSet? Compile(RewardOptions? options, DateTimeZone zone)
    {
        if (options is null || options.Rules.Count == 0)
        {
            return null;
        }
        var boosts = options.Boosts.Select(b => new CompiledBoost(
            b.Name,
            LocalToInstant(b.From, zone),
            LocalToInstant(b.Until, zone),
            b.Multiply,
            b.Add,
            b.Rules.ToHashSet(StringComparer.Ordinal))).ToArray();
        var rules = options.Rules.Select(r => CompiledRule.Create(r, boosts)).ToArray();
        var caps = options.Caps.Select(c => new CompiledCap(c.Period, c.MaxCount, c.MaxAmount, c.Currency is null ? null : Money.NormalizeCurrency(c.Currency), c.Policy)).ToArray();
        return new RewardRuleSet(zone, Duration.FromTimeSpan(options.HoldPeriod), rules, boosts, caps);
    }

    /// <summary>Reads a validated local date or date-time in the zone (a skipped local time moves forward).</summary>
    internal static Instant LocalToInstant(string local, DateTimeZone zone)
    {
        LocalDates.TryParse(local, out var value);
        return value.InZoneLeniently(zone).ToInstant();
    }

    /// <summary>The calendar period of a cap that contains an instant, in the program's zone: [start, end).</summary>
    public (Instant Start, Instant End) PeriodOf(CapPeriod period, Instant instant)
    {
        if (period == CapPeriod.Lifetime)
        {
            return (Instant.MinValue, Instant.MaxValue);
        }
        var date = instant.InZone(Zone).Date;
        var (start, end) = period switch
        {
            CapPeriod.Day => (date, date.PlusDays(1)),
            CapPeriod.Week => (date.PlusDays(1 - (int)date.DayOfWeek), date.PlusDays(8 - (int)date.DayOfWeek)),
            CapPeriod.Month => (new LocalDate(date.Year, date.Month, 1), new LocalDate(date.Year, date.Month, 1).PlusMonths(1)),
            _ => (new LocalDate(date.Year, 1, 1), new LocalDate(date.Year + 1, 1, 1)),
        };
        return (Zone.AtStartOfDay(start).ToInstant(), Zone.AtStartOfDay(end).ToInstant());
    }

    /// <summary>The referrer's place on the level-1 ladder after <paramref name="successful"/> counted referrals, or <see langword="null"/> without a ladder.</summary>
    public RewardTierProgress? Progress(int successful)
    {
        var ladder = Rules.FirstOrDefault(r => r.Role == RewardRole.Referrer && r.Level == 1 && r.Milestone is null && r.Tiers.Length > 1);
        if (ladder is null)
        {
            return null;
        }
        int next = successful + 1;
        int current = Array.FindLastIndex(ladder.Tiers, t => t.From <= next);
        int following = current + 1;
        if (following >= ladder.Tiers.Length)
        {
            return new RewardTierProgress(ladder.Name, current < 0 ? "none yet" : ladder.Tiers[current].Label, null, null);
        }
        return new RewardTierProgress(
            ladder.Name,
            current < 0 ? "none yet" : ladder.Tiers[current].Label,
            ladder.Tiers[following].Label,
            ladder.Tiers[following].From - successful);
    }

    /// <summary>
    /// The key of the calendar period of a cap that contains an instant, in the program's zone: <c>D2026-11-08</c>,
    /// <c>W2026-11-02</c> (the Monday), <c>M2026-11</c>, <c>Y2026</c> or <c>L</c>. The cap-usage summaries are keyed by it.
    /// </summary>
    public string PeriodKey(CapPeriod period, Instant instant)
    {
        if (period == CapPeriod.Lifetime)
        {
            return "L";
        }
        var date = instant.InZone(Zone).Date;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return period switch
        {
            CapPeriod.Day => "D" + date.ToString("yyyy-MM-dd", inv),
            CapPeriod.Week => "W" + date.PlusDays(1 - (int)date.DayOfWeek).ToString("yyyy-MM-dd", inv),
            CapPeriod.Month => "M" + date.ToString("yyyy-MM", inv),
            _ => "Y" + date.ToString("yyyy", inv),
        };
    }

    /// <summary>
    /// Evaluates every rule for one attributed conversion. <paramref name="usage"/> holds, per referrer level (1 first)
    /// and cap, what the beneficiary has used in the period of the conversion; it is updated as rewards are drafted, so
    /// two rules paying the same referrer share the cap. Allocates the drafts it returns and nothing else.
    /// </summary>
    public RewardDraft[] Evaluate(AttributionResult attribution, int referralNumber, Span<CapUsage> usage)
    {
        int count = 0;
        foreach (var rule in Rules)
        {
            if (rule.Applies(attribution, referralNumber, out _, out _))
            {
                count++;
            }
        }
        if (count == 0)
        {
            return [];
        }
        var drafts = new RewardDraft[count];
        int next = 0;
        foreach (var rule in Rules)
        {
            if (rule.Applies(attribution, referralNumber, out var tier, out var beneficiary))
            {
                var levelUsage = rule.Role == RewardRole.Referrer ? usage.Slice((rule.Level - 1) * Caps.Length, Caps.Length) : default;
                drafts[next++] = Draft(rule, tier, beneficiary, attribution, levelUsage);
            }
        }
        return drafts;
    }

    private RewardDraft Draft(CompiledRule rule, CompiledTier tier, ParticipantId beneficiary, AttributionResult a, Span<CapUsage> usage)
    {
        bool percent = tier.Percent is not null;
        string currency = rule.Kind == RewardKind.Points ? Money.PointsCurrency : percent ? a.Amount.Currency : tier.Currency!;
        decimal amount = percent ? a.Amount.Amount * tier.Percent!.Value / 100m : tier.Amount!.Value;

        IReadOnlyList<string> applied = [];
        int boosted = 0;
        foreach (var b in rule.Boosts)
        {
            if (a.ConversionTime >= b.From && a.ConversionTime < b.Until)
            {
                amount = (amount * b.Multiply) + b.Add;
                applied = boosted++ == 0 ? b.NameList : [.. applied, b.Name];
            }
        }
        amount = Math.Round(amount, Money.MinorUnitDigits(currency), MidpointRounding.AwayFromZero);
        var before = new Money(amount, currency);
        if (amount <= 0)
        {
            return new RewardDraft(rule, tier, beneficiary, before, before, percent, applied, null, RewardSkipReason.ZeroAmount, "the amount rounds to zero");
        }

        string? cappedBy = null;
        for (int i = 0; i < usage.Length; i++)
        {
            var cap = Caps[i];
            if (cap.MaxCount is { } max && !usage[i].CountedThisOrder && usage[i].Count >= max)
            {
                return new RewardDraft(rule, tier, beneficiary, before, before, percent, applied, null, RewardSkipReason.CountCapReached, cap.Label);
            }
        }
        for (int i = 0; i < usage.Length; i++)
        {
            var cap = Caps[i];
            if (cap.MaxAmount is not { } maxAmount || cap.Currency != currency)
            {
                continue;
            }
            decimal left = maxAmount - usage[i].Value;
            if (left <= 0 || (amount > left && cap.Policy == CapPolicy.Skip))
            {
                return new RewardDraft(rule, tier, beneficiary, before, before, percent, applied, null, RewardSkipReason.ValueCapReached, cap.Label);
            }
            if (amount > left)
            {
                amount = left;
                cappedBy = cap.Label;
            }
        }
        for (int i = 0; i < usage.Length; i++)
        {
            ref var u = ref usage[i];
            if (!u.CountedThisOrder)
            {
                u.Count++;
                u.CountedThisOrder = true;
            }
            if (Caps[i].Currency == currency)
            {
                u.Value += amount;
            }
        }
        var value = cappedBy is null ? before : new Money(amount, currency);
        return new RewardDraft(rule, tier, beneficiary, value, before, percent, applied, cappedBy, null, null);
    }

    internal sealed class CompiledRule
    {
        private CompiledRule(RewardRuleOptions o, CompiledTier[] tiers, CompiledBoost[] boosts)
        {
            Name = o.Name;
            Role = o.For;
            Level = o.For == RewardRole.Referee ? 1 : o.Level;
            Kind = o.Kind;
            Item = o.Item;
            Milestone = o.Milestone;
            Tiers = tiers;
            Boosts = boosts;
        }

        public string Name { get; }

        public RewardRole Role { get; }

        public int Level { get; }

        public RewardKind Kind { get; }

        public string? Item { get; }

        public int? Milestone { get; }

        public CompiledTier[] Tiers { get; }

        public CompiledBoost[] Boosts { get; }

        public static CompiledRule Create(RewardRuleOptions o, CompiledBoost[] boosts)
        {
            CompiledTier[] tiers;
            if (o.Tiers.Count > 0)
            {
                var sorted = o.Tiers.OrderBy(t => t.From).ToArray();
                tiers = new CompiledTier[sorted.Length];
                for (int i = 0; i < sorted.Length; i++)
                {
                    int? to = i + 1 < sorted.Length ? sorted[i + 1].From - 1 : null;
                    string label = to is { } t
                        ? (t == sorted[i].From ? $"referral {t}" : $"referrals {sorted[i].From}-{t}")
                        : $"referrals {sorted[i].From}+";
                    tiers[i] = new CompiledTier(sorted[i].From, to, sorted[i].Amount, Currency(o.Kind, sorted[i].Currency), sorted[i].Percent, label);
                }
            }
            else
            {
                string label = o.Milestone is { } m ? $"milestone: referral {m}" : "every referral";
                tiers = [new CompiledTier(o.Milestone ?? 1, o.Milestone, o.Amount, Currency(o.Kind, o.Currency), o.Percent, label)];
            }
            var mine = boosts.Where(b => b.Rules.Count == 0 || b.Rules.Contains(o.Name)).ToArray();
            return new CompiledRule(o, tiers, mine);
        }

        public bool Applies(AttributionResult a, int referralNumber, out CompiledTier tier, out ParticipantId beneficiary)
        {
            tier = null!;
            beneficiary = default;
            if (Role == RewardRole.Referee)
            {
                beneficiary = a.Customer;
            }
            else if (a.Chain.Count >= Level)
            {
                beneficiary = a.Chain[Level - 1];
            }
            else if (Level == 1 && a.Referrer is { } r)
            {
                beneficiary = r;
            }
            else
            {
                return false; // no referrer at this level
            }
            if (Milestone is { } m)
            {
                tier = Tiers[0];
                return referralNumber == m;
            }
            for (int i = Tiers.Length - 1; i >= 0; i--)
            {
                if (Tiers[i].From <= referralNumber)
                {
                    tier = Tiers[i];
                    return true;
                }
            }
            return false; // before the first tier
        }

        private static string? Currency(RewardKind kind, string? currency) =>
            kind == RewardKind.Points ? Money.PointsCurrency : currency is null ? null : Money.NormalizeCurrency(currency);
    }

    internal sealed record CompiledTier(int From, int? To, decimal? Amount, string? Currency, decimal? Percent, string Label);

    internal sealed class CompiledBoost(string name, Instant from, Instant until, decimal multiply, decimal add, HashSet<string> rules)
    {
        public string Name { get; } = name;

        public IReadOnlyList<string> NameList { get; } = [name];

        public Instant From { get; } = from;

        public Instant Until { get; } = until;

        public decimal Multiply { get; } = multiply;

        public decimal Add { get; } = add;

        public HashSet<string> Rules { get; } = rules;
    }

    internal sealed class CompiledCap(CapPeriod period, int? maxCount, decimal? maxAmount, string? currency, CapPolicy policy)
    {
        public CapPeriod Period { get; } = period;

        public int? MaxCount { get; } = maxCount;

        public decimal? MaxAmount { get; } = maxAmount;

        public string? Currency { get; } = currency;

        public CapPolicy Policy { get; } = policy;

        public string Label { get; } = (period == CapPeriod.Lifetime ? "lifetime" : period.ToString().ToLowerInvariant()) + " cap of "
            + string.Join(
                " and ",
                new[]
                {
                    maxCount is { } c ? c.ToString(CultureInfo.InvariantCulture) + " referrals" : null,
                    maxAmount is { } m ? new Money(m, currency ?? "XXX").ToString() : null,
                }.Where(s => s is not null));
    }
}

/// <summary>What a referrer has used of one cap in the period of the conversion being rewarded.</summary>
internal struct CapUsage
{
    /// <summary>Rewarded referrals in the period.</summary>
    public int Count;

    /// <summary>Value earned in the period, in the cap's currency.</summary>
    public decimal Value;

    /// <summary>Whether the conversion being rewarded is already counted (a second rule paying the same referrer).</summary>
    public bool CountedThisOrder;
}

/// <summary>One rule's result for one conversion: a reward to record, or a skip with its reason.</summary>
internal sealed record RewardDraft(
    RewardRuleSet.CompiledRule Rule,
    RewardRuleSet.CompiledTier Tier,
    ParticipantId Beneficiary,
    Money Value,
    Money BeforeCap,
    bool PercentOfOrder,
    IReadOnlyList<string> Boosts,
    string? CappedBy,
    RewardSkipReason? Skipped,
    string? SkipDetail)
{
    /// <summary>The label of the cap that reduced or skipped the reward, if one did.</summary>
    public string? CapLabel => CappedBy ?? (Skipped is RewardSkipReason.CountCapReached or RewardSkipReason.ValueCapReached ? SkipDetail : null);
}
