namespace Referrals.Rewards;

/// <summary>What a reward is, as data the host's <see cref="IRewardFulfiller"/> understands.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum RewardKind
{
    /// <summary>Store credit on the customer's account.</summary>
    AccountCredit = 1,

    /// <summary>A coupon or discount (its value, and optionally a template in <see cref="RewardRuleOptions.Item"/>).</summary>
    Coupon = 2,

    /// <summary>Loyalty points: amounts in <see cref="Money.PointsCurrency"/>, whole points.</summary>
    Points = 3,

    /// <summary>Cash paid out.</summary>
    Cash = 4,

    /// <summary>A gift card of a value (and optionally a design in <see cref="RewardRuleOptions.Item"/>).</summary>
    GiftCard = 5,

    /// <summary>A free product: the product in <see cref="RewardRuleOptions.Item"/>, its value for the books in the amount.</summary>
    FreeProduct = 6,
}

/// <summary>Who a reward rule pays.</summary>
public enum RewardRole
{
    /// <summary>The referrer (level 1) or, with <see cref="RewardRuleOptions.Level"/> 2 and up, the referrer's own referrers.</summary>
    Referrer = 1,

    /// <summary>The friend who converted.</summary>
    Referee = 2,
}

/// <summary>A calendar period of a cap, in the program's time zone.</summary>
public enum CapPeriod
{
    /// <summary>A local calendar day (midnight to midnight).</summary>
    Day = 1,

    /// <summary>An ISO week, Monday 00:00 to Monday 00:00.</summary>
    Week = 2,

    /// <summary>A calendar month.</summary>
    Month = 3,

    /// <summary>A calendar year.</summary>
    Year = 4,

    /// <summary>For ever.</summary>
    Lifetime = 5,
}

/// <summary>What happens to a reward that would cross a value cap.</summary>
public enum CapPolicy
{
    /// <summary>The reward is reduced to what is left under the cap (the default).</summary>
    ReduceToRemainder = 1,

    /// <summary>The reward is skipped.</summary>
    Skip = 2,
}

/// <summary>
/// A program's reward rules, under <c>Referrals:Programs:{id}:Rewards</c>. Evaluated in order for every attributed
/// conversion that is not a repeat purchase; every reward records the rule and tier that produced it.
/// </summary>
public sealed class RewardOptions
{
    /// <summary>
    /// How long a reward stays pending before it is approved (the return window), counted from the conversion's event
    /// time. 0 to 366 days; default 14 days.
    /// </summary>
    public TimeSpan HoldPeriod { get; set; } = TimeSpan.FromDays(14);

    /// <summary>The rules, evaluated in order. Each names who it pays, what and how much.</summary>
    public IList<RewardRuleOptions> Rules { get; set; } = [];

    /// <summary>Limited-time boosts, in the program's local time.</summary>
    public IList<RewardBoostOptions> Boosts { get; set; } = [];

    /// <summary>Caps on what one referrer earns per calendar period; they apply to referrer rewards (every level), not to referee rewards.</summary>
    public IList<RewardCapOptions> Caps { get; set; } = [];
}

/// <summary>One reward rule: who, what, and how much for which referral (ladder tiers or a milestone).</summary>
/// <remarks>
/// The amount is either fixed (<see cref="Amount"/> and <see cref="Currency"/>) or <see cref="Percent"/> of the order
/// value (in the order's currency), on the rule or per tier. Tiers and milestones count the level-1 referrer's
/// successful referrals in the program: the referral being rewarded is number <c>n</c>.
/// </remarks>
public sealed class RewardRuleOptions
{
    /// <summary>A name unique in the program, recorded on every reward the rule produces (<c>ladder</c>, <c>friend-welcome</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>Who is paid. Default <see cref="RewardRole.Referrer"/>.</summary>
    public RewardRole For { get; set; } = RewardRole.Referrer;

    /// <summary>For referrer rules: 1 is the referrer, 2 the referrer's referrer, up to the program's chain depth. Default 1.</summary>
    public int Level { get; set; } = 1;

    /// <summary>What the reward is. Default <see cref="RewardKind.AccountCredit"/>.</summary>
    public RewardKind Kind { get; set; } = RewardKind.AccountCredit;

    /// <summary>Free text for the fulfiller: a product SKU, a coupon template, a gift card design.</summary>
    public string? Item { get; set; }

    /// <summary>A fixed amount (with <see cref="Currency"/>), when the rule has no tiers: more than 0, at most 1,000,000,000,000 (10^12).</summary>
    public decimal? Amount { get; set; }

    /// <summary>The currency of a fixed amount (ISO 4217); not needed for points.</summary>
    public string? Currency { get; set; }

    /// <summary>A percentage of the order value (10 is 10 %), when the rule has no tiers: more than 0, at most 1000.</summary>
    public decimal? Percent { get; set; }

    /// <summary>A milestone: the rule pays only on exactly this referral (10 is the 10th). Not combined with tiers.</summary>
    public int? Milestone { get; set; }

    /// <summary>Ladder tiers by referral number, each from its <see cref="RewardTierOptions.From"/> up to the next tier's.</summary>
    public IList<RewardTierOptions> Tiers { get; set; } = [];
}

/// <summary>One step of a ladder: from the <see cref="From"/>th referral up to the next tier.</summary>
public sealed class RewardTierOptions
{
    /// <summary>The first referral number of the tier (1 is the first referral). Tiers ascend strictly.</summary>
    public int From { get; set; } = 1;

    /// <summary>A fixed amount (with <see cref="Currency"/>): more than 0, at most 1,000,000,000,000 (10^12).</summary>
    public decimal? Amount { get; set; }

    /// <summary>The currency of a fixed amount; not needed for points.</summary>
    public string? Currency { get; set; }

    /// <summary>A percentage of the order value: more than 0, at most 1000.</summary>
    public decimal? Percent { get; set; }
}

/// <summary>
/// A limited-time boost: rewards of conversions whose event time lies in [<see cref="From"/>, <see cref="Until"/>) in the
/// program's time zone are multiplied by <see cref="Multiply"/>, then increased by <see cref="Add"/> (in the reward's own
/// currency or points). Boosts apply in the order listed.
/// </summary>
/// <remarks>
/// Boosts in force at the same time compound. So that no reward can overflow, the boosts that apply to one rule at any
/// instant may multiply by at most 1000 together (the product of their <see cref="Multiply"/>, a factor below 1 counted
/// as 1) and add at most 1,000,000,000,000 together; a configuration beyond that fails validation.
/// </remarks>
public sealed class RewardBoostOptions
{
    /// <summary>A name recorded on the boosted rewards (<c>black-friday</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>Local date (midnight) or date-time at which the boost starts, in the years 1 to 9998.</summary>
    public string From { get; set; } = "";

    /// <summary>Local date (midnight) or date-time at which the boost ends (exclusive), in the years 1 to 9998.</summary>
    public string Until { get; set; } = "";

    /// <summary>A factor, 0 to 1000 (2 doubles). Default 1.</summary>
    public decimal Multiply { get; set; } = 1m;

    /// <summary>An amount added after multiplying, 0 to 1,000,000,000,000 (10^12). Default 0.</summary>
    public decimal Add { get; set; }

    /// <summary>The rules it boosts, by name; empty for all.</summary>
    public IList<string> Rules { get; set; } = [];
}

/// <summary>
/// A cap on what one referrer earns per calendar period in the program's time zone: a number of rewarded referrals
/// (<see cref="MaxCount"/>) and/or a value in one currency (<see cref="MaxAmount"/> and <see cref="Currency"/>). A
/// conversion falls in the period of its event time. Revoked and rejected rewards do not count.
/// </summary>
public sealed class RewardCapOptions
{
    /// <summary>The period. Default <see cref="CapPeriod.Month"/>.</summary>
    public CapPeriod Period { get; set; } = CapPeriod.Month;

    /// <summary>The most referrals rewarded per period; a referral beyond it earns no referrer reward.</summary>
    public int? MaxCount { get; set; }

    /// <summary>The most value earned per period, in <see cref="Currency"/>: more than 0, at most 1,000,000,000,000 (10^12).</summary>
    public decimal? MaxAmount { get; set; }

    /// <summary>The currency of <see cref="MaxAmount"/> (or <c>PTS</c> for points).</summary>
    public string? Currency { get; set; }

    /// <summary>What happens to a reward that would cross <see cref="MaxAmount"/>. Default reduce to the remainder.</summary>
    public CapPolicy Policy { get; set; } = CapPolicy.ReduceToRemainder;
}
