using Referrals.Codes;

namespace Referrals.Fraud;

/// <summary>Process-wide fraud settings under <c>Referrals:Fraud</c>; each program's policy is <see cref="FraudPolicyOptions"/>.</summary>
public sealed class FraudOptions
{
    /// <summary>
    /// Disposable-mail domains to add to the shipped list (a subdomain of a listed domain is covered too). Lower-case
    /// ASCII or Unicode domain names of at least two labels.
    /// </summary>
    public IList<string> DisposableDomains { get; set; } = [];

    /// <summary>How failed code look-ups from one source are rate-limited.</summary>
    public CodeGuessingOptions CodeGuessing { get; set; } = new();
}

/// <summary>What happens to rewards held for review when <see cref="FraudPolicyOptions.ReviewDeadline"/> passes unreviewed.</summary>
public enum ReviewDeadlineAction
{
    /// <summary>They stay held until a person decides (the default): nothing pays out silently.</summary>
    KeepHolding = 1,

    /// <summary>They are released, then approved when their hold period ends.</summary>
    Release = 2,

    /// <summary>They are rejected.</summary>
    Reject = 3,
}

/// <summary>
/// A program's fraud policy under <c>Referrals:Programs:{id}:Fraud</c>: every signal of the checks has a score, the
/// scores of one conversion add up, and the total decides the verdict — <see cref="FraudVerdict.Block"/> from
/// <see cref="BlockAt"/>, <see cref="FraudVerdict.Review"/> from <see cref="ReviewAt"/>, otherwise
/// <see cref="FraudVerdict.Allow"/>. The built-in checks run by default with the thresholds below.
/// </summary>
public sealed class FraudPolicyOptions
{
    /// <summary>Whether conversions of the program are assessed at all. Default <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Total score from which rewards are held for review. 1 to 1,000; default 40.</summary>
    public int ReviewAt { get; set; } = 40;

    /// <summary>Total score from which the referral is blocked (no rewards). 1 to 1,000, at least <see cref="ReviewAt"/>; default 100.</summary>
    public int BlockAt { get; set; } = 100;

    /// <summary>
    /// Scores by signal name, replacing the built-in ones (<c>{ "self-referral.device": 100 }</c>); 0 turns a signal off.
    /// The names are listed in <see cref="FraudSignalNames"/>. 0 to 1,000 each.
    /// </summary>
    public IDictionary<string, int> Scores { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Referrals (captured touches) of one referrer in the hour before a conversion above which it is suspicious. Default 20.</summary>
    public int MaxReferralsPerHour { get; set; } = 20;

    /// <summary>Referrals of one referrer in the day before a conversion above which it is suspicious. Default 100.</summary>
    public int MaxReferralsPerDay { get; set; } = 100;

    /// <summary>Referred conversions of one referrer in the hour before a conversion above which it is suspicious. Default 10.</summary>
    public int MaxConversionsPerHour { get; set; } = 10;

    /// <summary>Referred conversions of one referrer in the day before a conversion above which it is suspicious. Default 50.</summary>
    public int MaxConversionsPerDay { get; set; } = 50;

    /// <summary>Other customers converting from the friend's device in the day before above which it is suspicious. Default 2.</summary>
    public int MaxFriendsPerDevicePerDay { get; set; } = 2;

    /// <summary>Other customers converting from the friend's IP address in the day before above which it is suspicious. Default 10.</summary>
    public int MaxFriendsPerIpPerDay { get; set; } = 10;

    /// <summary>
    /// Share of a referrer's referred orders refunded in full or charged back above which their referrals are suspicious.
    /// 0 to 1; default 0.5.
    /// </summary>
    public decimal MaxRefundRate { get; set; } = 0.5m;

    /// <summary>Referred orders a referrer needs before the refund rate is judged. 1 or more; default 4.</summary>
    public int MinOrdersForRefundRate { get; set; } = 4;

    /// <summary>
    /// How long rewards may stay held for review; <see langword="null"/> (the default) for no deadline. What happens then is
    /// <see cref="AfterReviewDeadline"/>.
    /// </summary>
    public TimeSpan? ReviewDeadline { get; set; }

    /// <summary>What happens when <see cref="ReviewDeadline"/> passes unreviewed. Default <see cref="ReviewDeadlineAction.KeepHolding"/>.</summary>
    public ReviewDeadlineAction AfterReviewDeadline { get; set; } = ReviewDeadlineAction.KeepHolding;
}
