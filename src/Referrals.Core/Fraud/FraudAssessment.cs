using System.Globalization;
using System.Text;
using NodaTime;

namespace Referrals.Fraud;

/// <summary>What the fraud policy decided for a referred conversion.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum FraudVerdict
{
    /// <summary>Nothing (or too little) suspicious: rewards follow the normal lifecycle.</summary>
    Allow = 1,

    /// <summary>Suspicious: rewards are created held, and wait in the review queue until a person approves or rejects them.</summary>
    Review = 2,

    /// <summary>Fraudulent: the referral is not credited and no reward is created.</summary>
    Block = 3,
}

/// <summary>One finding of a fraud check.</summary>
/// <remarks>Only Core builds it (a check reports through <see cref="FraudSignalSink"/>); a host reads it.</remarks>
public sealed class FraudSignal
{
    internal FraudSignal(string name, int score, string evidence)
    {
        Name = name;
        Score = score;
        Evidence = evidence;
    }

    /// <summary>What was found, as a stable dotted name (<c>self-referral.device</c>); see <see cref="FraudSignalNames"/>.</summary>
    public string Name { get; }

    /// <summary>Its weight under the program's policy (more than 0).</summary>
    public int Score { get; }

    /// <summary>
    /// What exactly was seen, for a support agent: counts, thresholds, participant ids and the first characters of hashes —
    /// never a raw e-mail address, phone number, address, card or IP address.
    /// </summary>
    public string Evidence { get; }
}

/// <summary>The fraud assessment of one referred conversion: the verdict and every signal that led to it.</summary>
public sealed class FraudAssessment
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay.
    internal FraudAssessment()
    {
    }

    /// <summary>The verdict.</summary>
    public FraudVerdict Verdict { get; internal init; }

    /// <summary>The sum of the signals' scores.</summary>
    public int Score { get; internal init; }

    /// <summary>The policy's thresholds the score was compared with: review from, block from.</summary>
    public int ReviewAt { get; internal init; }

    /// <summary>The score from which a referral is blocked.</summary>
    public int BlockAt { get; internal init; }

    /// <summary>The signals, in the order the checks ran.</summary>
    public IReadOnlyList<FraudSignal> Signals { get; internal init; } = [];

    /// <summary>When the assessment was made (by the library's clock).</summary>
    public Instant AssessedAt { get; internal init; }

    /// <summary>The verdict and its reasons in plain English, one signal per line.</summary>
    public string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"Fraud verdict {Verdict}: score {Score} (review from {ReviewAt}, block from {BlockAt})");
        if (Signals.Count == 0)
        {
            return sb.Append(", no signals.").ToString();
        }
        sb.Append(':');
        foreach (var s in Signals)
        {
            sb.AppendLine().Append(inv, $"  {s.Name} (+{s.Score}): {s.Evidence}");
        }
        return sb.ToString();
    }
}

/// <summary>The names of the built-in checks' signals, for <see cref="FraudPolicyOptions.Scores"/>, and their default scores.</summary>
public static class FraudSignalNames
{
    /// <summary>The friend is the referrer (same participant id). Default 100.</summary>
    public const string SelfReferralParticipant = "self-referral.participant";

    /// <summary>The friend has the referrer's e-mail address, after normalisation (case, gmail dots, +tags). Default 100.</summary>
    public const string SelfReferralEmail = "self-referral.email";

    /// <summary>The friend has the referrer's phone number (E.164). Default 100.</summary>
    public const string SelfReferralPhone = "self-referral.phone";

    /// <summary>The friend paid with the referrer's payment method. Default 100.</summary>
    public const string SelfReferralPayment = "self-referral.payment";

    /// <summary>The friend used the referrer's device. Default 60.</summary>
    public const string SelfReferralDevice = "self-referral.device";

    /// <summary>The friend ships to the referrer's address (households do this honestly too). Default 40.</summary>
    public const string SelfReferralAddress = "self-referral.address";

    /// <summary>The friend came from the referrer's IP address with the same user agent: weak on its own. Default 15.</summary>
    public const string SelfReferralIpAndUserAgent = "self-referral.ip-user-agent";

    /// <summary>The friend's e-mail address is at a disposable-mail domain. Default 50.</summary>
    public const string DisposableEmail = "disposable-email";

    /// <summary>The referrer's referrals in the hour before exceed the policy's maximum. Default 40.</summary>
    public const string ReferralsPerHour = "velocity.referrals-per-hour";

    /// <summary>The referrer's referrals in the day before exceed the policy's maximum (reported only without the hour's). Default 30.</summary>
    public const string ReferralsPerDay = "velocity.referrals-per-day";

    /// <summary>The referrer's referred conversions in the hour before exceed the policy's maximum. Default 40.</summary>
    public const string ConversionsPerHour = "velocity.conversions-per-hour";

    /// <summary>The referrer's referred conversions in the day before exceed the policy's maximum (reported only without the hour's). Default 30.</summary>
    public const string ConversionsPerDay = "velocity.conversions-per-day";

    /// <summary>Several other customers converted from the friend's device within a day. Default 60.</summary>
    public const string FriendsPerDevice = "velocity.friends-per-device";

    /// <summary>Many other customers converted from the friend's IP address within a day. Default 30.</summary>
    public const string FriendsPerIp = "velocity.friends-per-ip";

    /// <summary>The friend is above the referrer in the referral chain: a referral cycle (A refers B refers A). Default 100.</summary>
    public const string RingCycle = "ring.cycle";

    /// <summary>Other accounts of the referrer's referral network share the friend's device or payment method. Default 60.</summary>
    public const string RingSharedIdentity = "ring.shared-identity";

    /// <summary>The referrer's referred orders are refunded above the policy's rate. Default 60.</summary>
    public const string RefundAbuse = "refund-abuse";

    /// <summary>A check threw; it is logged and counted, and recorded with score 0 so the assessment shows it. Default 0.</summary>
    public const string CheckFailed = "check-failed";

    internal static readonly IReadOnlyDictionary<string, int> DefaultScores = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [SelfReferralParticipant] = 100,
        [SelfReferralEmail] = 100,
        [SelfReferralPhone] = 100,
        [SelfReferralPayment] = 100,
        [SelfReferralDevice] = 60,
        [SelfReferralAddress] = 40,
        [SelfReferralIpAndUserAgent] = 15,
        [DisposableEmail] = 50,
        [ReferralsPerHour] = 40,
        [ReferralsPerDay] = 30,
        [ConversionsPerHour] = 40,
        [ConversionsPerDay] = 30,
        [FriendsPerDevice] = 60,
        [FriendsPerIp] = 30,
        [RingCycle] = 100,
        [RingSharedIdentity] = 60,
        [RefundAbuse] = 60,
        [CheckFailed] = 0,
    };
}
