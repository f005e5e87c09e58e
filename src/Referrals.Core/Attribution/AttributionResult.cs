using System.Globalization;
using System.Text;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Attribution;

/// <summary>Where a referral was shared and where the friend converted.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum ChannelCombination
{
    /// <summary>Shared online, converted online.</summary>
    OnlineToOnline = 1,

    /// <summary>Shared online, converted in a store.</summary>
    OnlineToOffline = 2,

    /// <summary>Shared offline (receipt, card, sign, kiosk, employee), converted online.</summary>
    OfflineToOnline = 3,

    /// <summary>Shared offline, converted in a store.</summary>
    OfflineToOffline = 4,
}

/// <summary>Why a conversion earned no referral credit (<see cref="AttributionResult.Reason"/>).</summary>
/// <remarks>The numeric values are stored (0: attributed, no reason); never renumber them.</remarks>
public enum NotAttributedReason
{
    /// <summary>The program is not configured.</summary>
    ProgramNotConfigured = 1,

    /// <summary>The program was not running at the conversion's event time (in the program's time zone).</summary>
    ProgramInactive = 2,

    /// <summary>No touch of a referral is linked to this customer.</summary>
    NoTouch = 3,

    /// <summary>Touches exist, but none within the attribution window before the conversion.</summary>
    OutsideWindow = 4,

    /// <summary>The only touches are the customer's own (same participant or same contact).</summary>
    SelfReferral = 5,

    /// <summary>The customer is not new and the program rewards new customers only.</summary>
    NotNewCustomer = 6,

    /// <summary>The order is below the program's minimum for its currency.</summary>
    BelowMinimumOrder = 7,

    /// <summary>
    /// The touches' codes were expired at the conversion's event time, or paused or revoked then or when the touch was
    /// made: judged by the code's history at those event times, whenever the events arrive.
    /// </summary>
    CodeInactive = 8,

    /// <summary>The touches' codes had reached their use limit with the credited conversions before this one by event time.</summary>
    CodeUsedUp = 9,

    /// <summary>The customer was attributed before and the program does not credit later conversions.</summary>
    AlreadyAttributed = 10,

    /// <summary>
    /// A referral was found, but the fraud checks blocked it (<see cref="AttributionResult.Fraud"/> says why):
    /// <see cref="AttributionResult.Referrer"/> names the referrer it would have credited; no reward is created.
    /// </summary>
    FraudBlocked = 11,
}

/// <summary>What became of one touch when a conversion was decided.</summary>
public enum TouchVerdict
{
    /// <summary>This touch earned the credit.</summary>
    Chosen = 1,

    /// <summary>Eligible, but another touch took precedence.</summary>
    Outranked = 2,

    /// <summary>Earlier than the attribution window.</summary>
    OutsideWindow = 3,

    /// <summary>Later than the conversion.</summary>
    AfterConversion = 4,

    /// <summary>Points to the customer themself.</summary>
    SelfReferral = 5,

    /// <summary>Its code was expired at the conversion, or paused or revoked at the conversion's or the touch's event time.</summary>
    CodeInactive = 6,

    /// <summary>Its code had reached its use limit with the credited conversions before this one by event time.</summary>
    CodeUsedUp = 7,

    /// <summary>Not looked at: the decision did not rest on touches (a repeat purchase, an inactive program, ...).</summary>
    NotEvaluated = 8,
}

/// <summary>One touch as the decision saw it.</summary>
public readonly struct ConsideredTouch
{
    internal ConsideredTouch(string touchId, TouchKind kind, ParticipantId referrer, Instant eventTime, TouchVerdict verdict)
    {
        TouchId = touchId;
        Kind = kind;
        Referrer = referrer;
        EventTime = eventTime;
        Verdict = verdict;
    }

    /// <summary>The touch's id.</summary>
    public string TouchId { get; }

    /// <summary>How it was captured.</summary>
    public TouchKind Kind { get; }

    /// <summary>The referrer it points to.</summary>
    public ParticipantId Referrer { get; }

    /// <summary>When it happened.</summary>
    public Instant EventTime { get; }

    /// <summary>What became of it.</summary>
    public TouchVerdict Verdict { get; }

    internal ConsideredTouch WithVerdict(TouchVerdict verdict) => new(TouchId, Kind, Referrer, EventTime, verdict);
}

/// <summary>
/// The decision which referral, if any, earns credit for a conversion, and why: an explanation a support agent can read
/// (<see cref="Explain"/>). Unique by program and order id; a re-evaluation replaces it.
/// </summary>
public sealed class AttributionResult
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal AttributionResult()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The order.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>The referee.</summary>
    public ParticipantId Customer { get; internal init; }

    /// <summary>The order value.</summary>
    public Money Amount { get; internal init; }

    /// <summary>When the order was placed.</summary>
    public Instant ConversionTime { get; internal init; }

    /// <summary>Where the order was placed.</summary>
    public Channel ConversionChannel { get; internal init; }

    /// <summary>The store, for offline conversions.</summary>
    public string? StoreId { get; internal init; }

    /// <summary>Why no credit was given; <see langword="null"/> when the conversion was attributed (<see cref="IsAttributed"/>).</summary>
    public NotAttributedReason? Reason { get; internal init; }

    /// <summary>True when a referrer earned the credit.</summary>
    public bool IsAttributed => Reason is null;

    /// <summary>The referrer credited (level 1), or <see langword="null"/>.</summary>
    public ParticipantId? Referrer { get; internal init; }

    /// <summary>The code of the winning touch, or <see langword="null"/> (a contact look-up carries none).</summary>
    public ReferralCode? Code { get; internal init; }

    /// <summary>How the winning referral was shared.</summary>
    public ShareMedium Medium { get; internal init; }

    /// <summary>How the winning touch was captured.</summary>
    public TouchKind? CaptureMethod { get; internal init; }

    /// <summary>The winning touch.</summary>
    public string? TouchId { get; internal init; }

    /// <summary>Where it was shared and where the friend converted.</summary>
    public ChannelCombination? Combination { get; internal init; }

    /// <summary>The referral chain: index 0 is the referrer, 1 the referrer's own referrer, and so on; never loops.</summary>
    public IReadOnlyList<ParticipantId> Chain { get; internal init; } = [];

    /// <summary>True when this is a later conversion of an already-attributed friend, credited to the same referrer.</summary>
    public bool IsRepeat { get; internal init; }

    /// <summary>Every touch the decision considered, with what became of it, in event order.</summary>
    public IReadOnlyList<ConsideredTouch> Touches { get; internal init; } = [];

    /// <summary>When the decision was made (by the library's clock).</summary>
    public Instant DecidedAt { get; internal init; }

    /// <summary>
    /// The fraud assessment of the credit, or <see langword="null"/> when none was made (not referred, a repeat purchase,
    /// no fraud check registered, or the program's policy is off). With
    /// <see cref="Fraud.FraudVerdict.Review"/> the rewards are held for review; a blocked referral has
    /// <see cref="Reason"/> <see cref="NotAttributedReason.FraudBlocked"/>.
    /// </summary>
    public Fraud.FraudAssessment? Fraud { get; internal init; }

    /// <summary>This decision with a fraud assessment, and the reason and chain the assessment leaves it.</summary>
    internal AttributionResult WithFraud(Fraud.FraudAssessment assessment, NotAttributedReason? reason, IReadOnlyList<ParticipantId> chain) => new()
    {
        Program = Program,
        OrderId = OrderId,
        Customer = Customer,
        Amount = Amount,
        ConversionTime = ConversionTime,
        ConversionChannel = ConversionChannel,
        StoreId = StoreId,
        Reason = reason,
        Referrer = Referrer,
        Code = Code,
        Medium = Medium,
        CaptureMethod = CaptureMethod,
        TouchId = TouchId,
        Combination = Combination,
        Chain = chain,
        IsRepeat = IsRepeat,
        Touches = Touches,
        DecidedAt = DecidedAt,
        Fraud = assessment,
    };

    /// <summary>A few lines in plain English for a support agent.</summary>
    public string Explain()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"Order {OrderId} of {Customer} ({Amount}, {ConversionChannel}{(StoreId is null ? "" : " store " + StoreId)}) at {ConversionTime}: ");
        if (IsAttributed)
        {
            sb.Append(inv, $"credited to {Referrer} via {CaptureMethod} of a {Medium} referral{(Code is { } c ? " (code " + c + ")" : "")}, {Combination}");
            if (IsRepeat)
            {
                sb.Append(" — a repeat purchase of an already-referred friend");
            }
            if (Chain.Count > 1)
            {
                sb.Append(inv, $"; chain {string.Join(" <- ", Chain)}");
            }
            sb.Append('.');
        }
        else
        {
            sb.Append(inv, $"not credited: {Reason}.");
        }
        if (Fraud is { } fraud)
        {
            sb.AppendLine().Append(fraud.Explain());
        }
        foreach (var t in Touches)
        {
            sb.AppendLine().Append(inv, $"  {t.EventTime} {t.Kind} -> {t.Referrer}: {t.Verdict}");
        }
        return sb.ToString();
    }
}
