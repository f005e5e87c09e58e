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

/// <summary>
/// Rate limit on failed code look-ups (a code that does not exist or fails its check character, and each code a "did you
/// mean" list reveals), so that nobody can try codes until one hits: per source — an IP address, device or till — and per
/// program, whoever tries.
/// </summary>
/// <remarks>
/// <para>
/// Limited are the look-ups people can reach: <see cref="Attribution.AttributionService.CaptureAsync"/>,
/// <see cref="Attribution.AttributionService.RecordConversionAsync"/> (a presented code) and
/// <see cref="Codes.ReferralCodeService.Resolve(string?, ProgramId, string?)"/> with its suggestions. A limited look-up is
/// refused before its input is read, found code or not. The source is the one the caller gives; without one, a capture
/// falls back to the till, the visitor, the customer, then the contact, and a resolve without one counts against the
/// program's single shared "unknown source", limited like one source — so pass the client's IP address or device id. POS
/// batch uploads and <see cref="Codes.ReferralCodeService.Resolve(string?)"/> (for input from your own systems) are not
/// limited.
/// </para>
/// <para>
/// <b>Per process.</b> The counts are kept in the memory of each process (fixed in size, never written anywhere) and are
/// not shared: <c>n</c> app instances behind a load balancer together allow up to <c>n</c> times the failures, and a
/// restart forgets them. A host running several instances should route each client to one instance (sticky sessions by
/// IP address) or divide <see cref="MaxFailures"/> and <see cref="MaxFailuresPerProgram"/> by the number of instances, and
/// put a shared rate limit in front of its code-entry endpoints (at the gateway or web application firewall, or ASP.NET
/// Core rate limiting backed by a shared store) when one process's view is not enough.
/// </para>
/// </remarks>
public sealed class CodeGuessingOptions
{
    /// <summary>Whether the limit applies. Default <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Failed look-ups within <see cref="Window"/> after which a source (or a program's shared unknown source) is refused.
    /// 1 to 10,000; default 10.
    /// </summary>
    public int MaxFailures { get; set; } = 10;

    /// <summary>
    /// Failed look-ups within <see cref="Window"/>, from all sources together, after which every look-up in the program is
    /// refused: this bounds guessing spread over many sources (rotating IP addresses or visitor ids). While it holds,
    /// genuine customers are refused too, so set it well above the failures (typos) your busiest window brings.
    /// 1 to 1,000,000; default 1,000.
    /// </summary>
    public int MaxFailuresPerProgram { get; set; } = 1_000;

    /// <summary>The sliding window the failures are counted in. 1 second to 1 day; default 10 minutes.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Sources tracked at once: the limiter's memory is fixed at this many small slots (about 40 bytes each); idle sources
    /// are forgotten. 16 to 16,777,216; default 65,536.
    /// </summary>
    public int MaxSources { get; set; } = 65_536;
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
