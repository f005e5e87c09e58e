using System.Runtime.CompilerServices;
using NodaTime;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;

using Referrals.Attribution;

namespace Referrals.Pipeline;

/// <summary>
/// What the attribution stage decided for one conversion, before the fraud assessment: the credit (or why there is
/// none) and the facts it read that the assessment needs.
/// </summary>
internal readonly struct AttributionDecision(AttributionResult result, Participant? customer, IReadOnlyList<ContactHash> contacts, StrongBox<ParticipantId?>? referrersFirstReferrer)
{
    /// <summary>The decision as it stands without a fraud verdict.</summary>
    public AttributionResult Result { get; } = result;

    /// <summary>True when a referrer is credited for a first conversion: the one case the fraud checks judge.</summary>
    public bool IsCredited => Result is { IsAttributed: true, IsRepeat: false, Referrer: not null };

    /// <summary>The friend's registration as the decision read it.</summary>
    public Participant? Customer { get; } = customer;

    /// <summary>The friend's contact hashes (conversion's and registration's).</summary>
    public IReadOnlyList<ContactHash> Contacts { get; } = contacts;

    /// <summary>Who referred the referrer first, when the chain was built (read once, shared with the ring check).</summary>
    public StrongBox<ParticipantId?>? ReferrersFirstReferrer { get; } = referrersFirstReferrer;

    /// <summary>The decision with its fraud verdict: a block takes the credit (and the chain) away, review and allow keep it.</summary>
    public AttributionResult Complete(FraudAssessment? assessment) => assessment is null
        ? Result
        : assessment.Verdict == FraudVerdict.Block
            ? Result.WithFraud(assessment, NotAttributedReason.FraudBlocked, [])
            : Result.WithFraud(assessment, Result.Reason, Result.Chain);

    /// <summary>The flat facts the fraud checks see of this credit.</summary>
    public FraudCase ToFraudCase(Conversion conversion, Participant? referrer) => new()
    {
        Program = conversion.Program,
        OrderId = conversion.OrderId,
        Customer = conversion.Customer,
        Referrer = Result.Referrer!.Value,
        Amount = conversion.Amount,
        EventTime = conversion.EventTime,
        Chain = Result.Chain,
        Code = Result.Code,
        CustomerParticipant = Customer,
        ReferrerParticipant = referrer,
        CustomerContacts = Contacts,
        ConversionFingerprints = conversion.Fingerprints,
        ReferrersFirstReferrer = ReferrersFirstReferrer,
    };
}

/// <summary>
/// Stage 1 (decide) of the conversion pipeline: which referral, if any, earns the credit for a conversion, and why —
/// program window, sticky referees, new customers, minimum order, window, precedence, self-referral, code state and use
/// limits, the chain of referrers. Reads only through <see cref="IAttributionFacts"/>; writes nothing. Thread-safe.
/// </summary>
/// <remarks>
/// Every rule is judged at the events' own times, so the same events give the same decision in any arrival order: a
/// code's expiry at the sale's event time, its status (from the code's history) at the touch's and at the sale's event
/// time, its use limit against the credited uses before the sale by event time (then order id).
/// </remarks>
internal sealed class AttributionDecider(IReadOnlyDictionary<ProgramId, ProgramRules> programs, IClock clock)
{
    /// <summary>How many referrers up a program's chains go (1 when the program is not configured).</summary>
    public int ChainDepth(ProgramId program) => programs.TryGetValue(program, out var rules) ? rules.MaxChainDepth : 1;

    /// <summary>Decides the conversion from the facts.</summary>
    public async ValueTask<AttributionDecision> DecideAsync(Conversion conversion, IAttributionFacts facts, CancellationToken ct)
    {
        var (result, customer, contacts, first) = await DecideCoreAsync(conversion, facts, ct).ConfigureAwait(false);
        return new AttributionDecision(result, customer, contacts, first);
    }

    private async ValueTask<(AttributionResult Result, Participant? Customer, IReadOnlyList<ContactHash> Contacts, StrongBox<ParticipantId?>? First)> DecideCoreAsync(Conversion conversion, IAttributionFacts facts, CancellationToken ct)
    {
        var result = new Decision(conversion, clock.GetCurrentInstant());
        if (!programs.TryGetValue(conversion.Program, out var rules))
        {
            return (result.With(NotAttributedReason.ProgramNotConfigured), null, [], null);
        }
        if (!rules.IsActiveAt(conversion.EventTime))
        {
            return (result.With(NotAttributedReason.ProgramInactive), null, [], null);
        }

        // Sticky referee: the customer's first attributed conversion before this one decides later ones.
        if (rules.Sticky != StickyReferee.Off)
        {
            var first = await facts.FindFirstAttributionAsync(conversion.Program, conversion.Customer, ct).ConfigureAwait(false);
            if (first is not null && IsBefore(first.ConversionTime, first.OrderId, conversion.EventTime, conversion.OrderId))
            {
                if (rules.Sticky == StickyReferee.NotCreditedAgain)
                {
                    return (result.With(NotAttributedReason.AlreadyAttributed, first.Referrer), null, [], null);
                }
                return (result.Repeat(first), null, [], null);
            }
        }

        var participant = await facts.FindParticipantAsync(conversion.Customer, ct).ConfigureAwait(false);
        var visitors = await facts.FindVisitorsAsync(conversion.Customer, ct).ConfigureAwait(false);
        if (conversion.VisitorId is { } v && !visitors.Contains(v))
        {
            visitors = [.. visitors, v];
        }
        var contacts = participant is null || participant.Contacts.Count == 0
            ? conversion.Contacts
            : conversion.Contacts.Count == 0 ? participant.Contacts : [.. participant.Contacts.Union(conversion.Contacts)];
        var touches = await facts.FindTouchesAsync(conversion.Program, conversion.Customer, visitors, contacts, ct).ConfigureAwait(false);

        if (rules.NewCustomersOnly)
        {
            bool isNew = conversion.IsNewCustomer ?? !await facts.HasEarlierConversionAsync(conversion.Program, conversion.Customer, conversion.EventTime, conversion.OrderId, ct).ConfigureAwait(false);
            if (!isNew)
            {
                return (result.With(NotAttributedReason.NotNewCustomer, touches: NotEvaluated(touches)), participant, contacts, null);
            }
        }
        if (!rules.MeetsMinimum(conversion.Amount))
        {
            return (result.With(NotAttributedReason.BelowMinimumOrder, touches: NotEvaluated(touches)), participant, contacts, null);
        }
        if (touches.Count == 0)
        {
            return (result.With(NotAttributedReason.NoTouch), participant, contacts, null);
        }

        var verdicts = new ConsideredTouch[touches.Count];
        int winner = -1;
        bool winnerAtConversion = false;
        Instant windowStart = conversion.EventTime - rules.Window;
        for (int i = 0; i < touches.Count; i++)
        {
            var t = touches[i];
            bool atConversion = t.OrderId == conversion.OrderId;
            var refusal = await IneligibilityAsync(facts, t, atConversion, conversion, contacts, windowStart, ct).ConfigureAwait(false);
            // An eligible touch is outranked unless it wins: the winner is marked Chosen once all are judged.
            verdicts[i] = new ConsideredTouch(t.Id, t.Kind, t.Referrer, t.EventTime, refusal ?? TouchVerdict.Outranked);
            if (refusal is not null)
            {
                continue;
            }
            bool prefer = atConversion && rules.CodeAtConversionWins;
            if (winner < 0 || Better(t, prefer, touches[winner], winnerAtConversion, rules.Precedence))
            {
                winner = i;
                winnerAtConversion = prefer;
            }
        }
        if (winner < 0)
        {
            return (result.With(ReasonFrom(verdicts), touches: verdicts), participant, contacts, null);
        }
        var chosen = touches[winner];
        verdicts[winner] = verdicts[winner].WithVerdict(TouchVerdict.Chosen);
        var (chain, referrersFirst) = await ChainAsync(facts, conversion, chosen.Referrer, rules.MaxChainDepth, ct).ConfigureAwait(false);
        var credit = result.Create(
            null,
            chosen.Referrer,
            verdicts,
            chosen.Code,
            chosen.Medium,
            chosen.Kind,
            chosen.Id,
            chain,
            isRepeat: false,
            Combine(chosen.Medium, chosen.Code, chosen.Kind, conversion.Channel));
        return (credit, participant, contacts, referrersFirst);
    }

    /// <summary>The fields every decision shares, so each decision allocates its result once.</summary>
    private readonly struct Decision(Conversion conversion, Instant decidedAt)
    {
        public AttributionResult With(NotAttributedReason reason, ParticipantId? referrer = null, IReadOnlyList<ConsideredTouch>? touches = null) =>
            Create(reason, referrer, touches ?? [], null, ShareMedium.Unknown, null, null, [], isRepeat: false, null);

        public AttributionResult Repeat(AttributionResult first) =>
            Create(
                null,
                first.Referrer,
                [],
                first.Code,
                first.Medium,
                first.CaptureMethod,
                first.TouchId,
                first.Chain,
                isRepeat: true,
                Combine(first.Medium, first.Code, first.CaptureMethod, conversion.Channel));

        public AttributionResult Create(
            NotAttributedReason? reason,
            ParticipantId? referrer,
            IReadOnlyList<ConsideredTouch> touches,
            ReferralCode? code,
            ShareMedium medium,
            TouchKind? captureMethod,
            string? touchId,
            IReadOnlyList<ParticipantId> chain,
            bool isRepeat,
            ChannelCombination? combination) => new()
            {
                Program = conversion.Program,
                OrderId = conversion.OrderId,
                Customer = conversion.Customer,
                Amount = conversion.Amount,
                ConversionTime = conversion.EventTime,
                ConversionChannel = conversion.Channel,
                StoreId = conversion.StoreId,
                DecidedAt = decidedAt,
                Reason = reason,
                Referrer = referrer,
                Touches = touches,
                Code = code,
                Medium = medium,
                CaptureMethod = captureMethod,
                TouchId = touchId,
                Chain = chain,
                IsRepeat = isRepeat,
                Combination = combination,
            };
    }

    /// <summary>Why a touch cannot earn the credit, or <see langword="null"/> when it is eligible.</summary>
    private static async ValueTask<TouchVerdict?> IneligibilityAsync(
        IAttributionFacts facts,
        Touch t,
        bool atConversion,
        Conversion conversion,
        IReadOnlyList<ContactHash> customerContacts,
        Instant windowStart,
        CancellationToken ct)
    {
        if (!atConversion && (t.EventTime > conversion.EventTime
            || (t.EventTime == conversion.EventTime && t.OrderId is { } at && string.CompareOrdinal(at, conversion.OrderId) > 0)))
        {
            // A touch captured at another order's checkout at the same instant comes after this order if that order does
            // (positions are (event time, order id)): the same in every arrival order.
            return TouchVerdict.AfterConversion;
        }
        if (!atConversion && t.EventTime < windowStart)
        {
            return TouchVerdict.OutsideWindow;
        }
        if (t.Referrer == conversion.Customer || await SharesContactAsync(facts, t.Referrer, customerContacts, ct).ConfigureAwait(false))
        {
            return TouchVerdict.SelfReferral;
        }
        if (t.Code is { } code && facts.FindCode(code) is { } record)
        {
            if (record.ExpiresAt is { } exp && conversion.EventTime >= exp)
            {
                return TouchVerdict.CodeInactive;
            }
            // A code never changed since it was issued (version 1) has had its status all along: no history to read, so an
            // ordinary conversion costs no read more. A changed one is judged by its status at the event times.
            if (record.Version == 1
                ? record.Status != CodeStatus.Active
                : !await WasActiveAsync(facts, record, t, conversion, ct).ConfigureAwait(false))
            {
                return TouchVerdict.CodeInactive;
            }
            if (record.MaxUses is { } max
                && await facts.CountCodeUsesBeforeAsync(code, conversion.EventTime, conversion.OrderId, max, ct).ConfigureAwait(false) >= max)
            {
                return TouchVerdict.CodeUsedUp;
            }
        }
        return null;
    }

    /// <summary>
    /// Whether a changed code was active (status, not expiry or uses) both when the touch met it and when the sale was made:
    /// each judged at its own event time, whenever either arrived, so a sale made while the code was active is credited
    /// though the code was paused or revoked before the sale was recorded; a sale made while it was paused or revoked is not,
    /// though the touch came before the pause; and a touch made during a pause earns nothing after the code is resumed.
    /// </summary>
    private static async ValueTask<bool> WasActiveAsync(IAttributionFacts facts, IndexedCode record, Touch t, Conversion conversion, CancellationToken ct)
    {
        var history = await facts.FindCodeHistoryAsync(record, ct).ConfigureAwait(false);
        return history.IsActiveAt(conversion.EventTime) && history.IsActiveAt(t.EventTime);
    }

    private static async ValueTask<bool> SharesContactAsync(IAttributionFacts facts, ParticipantId referrer, IReadOnlyList<ContactHash> customerContacts, CancellationToken ct)
    {
        if (customerContacts.Count == 0)
        {
            return false;
        }
        var p = await facts.FindParticipantAsync(referrer, ct).ConfigureAwait(false);
        if (p is null)
        {
            return false;
        }
        foreach (var c in p.Contacts)
        {
            foreach (var mine in customerContacts)
            {
                if (c == mine)
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The chain of referrers from <paramref name="referrer"/> up, and the referrer's first attribution if it was read.</summary>
    private static async ValueTask<(IReadOnlyList<ParticipantId> Chain, StrongBox<ParticipantId?>? ReferrersFirst)> ChainAsync(
        IAttributionFacts facts,
        Conversion conversion,
        ParticipantId referrer,
        int depth,
        CancellationToken ct)
    {
        if (depth == 1)
        {
            return ([referrer], null);
        }
        // By event time: a referrer's own referral counts in the chain only if it happened before this conversion (one that
        // arrives later re-decides the referrer's referrals after it).
        var top = Before(await facts.FindFirstAttributionAsync(conversion.Program, referrer, ct).ConfigureAwait(false), conversion);
        var read = new StrongBox<ParticipantId?>(top?.Referrer);
        if (top?.Referrer is not { } second || second == conversion.Customer || second == referrer)
        {
            return ([referrer], read); // the common case: the referrer was not referred
        }
        var chain = new List<ParticipantId>(depth) { referrer, second };
        var current = second;
        while (chain.Count < depth)
        {
            var up = Before(await facts.FindFirstAttributionAsync(conversion.Program, current, ct).ConfigureAwait(false), conversion);
            if (up?.Referrer is not { } next || next == conversion.Customer || chain.Contains(next))
            {
                break; // the top of the chain, or a loop
            }
            chain.Add(next);
            current = next;
        }
        return (chain, read);
    }

    /// <summary>The attribution if its conversion comes before <paramref name="conversion"/> by (event time, order id).</summary>
    private static AttributionResult? Before(AttributionResult? first, Conversion conversion) =>
        first is not null && (first.ConversionTime < conversion.EventTime
            || (first.ConversionTime == conversion.EventTime && string.CompareOrdinal(first.OrderId, conversion.OrderId) < 0))
            ? first
            : null;

    private static bool Better(Touch candidate, bool candidateAtConversion, Touch best, bool bestAtConversion, TouchPrecedence precedence)
    {
        if (candidateAtConversion != bestAtConversion)
        {
            return candidateAtConversion;
        }
        int byTime = candidate.EventTime.CompareTo(best.EventTime);
        if (byTime != 0)
        {
            return precedence == TouchPrecedence.LastTouch ? byTime > 0 : byTime < 0;
        }
        int byKind = Rank(candidate.Kind).CompareTo(Rank(best.Kind));
        if (byKind != 0)
        {
            return byKind > 0;
        }
        // Then by what the host named (the referrer's id), and only then by the touch's id (a hash that includes the code,
        // which is random): the same two touches decide the same way in every store and arrival order.
        int byReferrer = string.CompareOrdinal(candidate.Referrer.Value, best.Referrer.Value);
        return byReferrer != 0 ? byReferrer < 0 : string.CompareOrdinal(candidate.Id, best.Id) < 0;
    }

    // At the same instant, a deliberate act (a code typed or scanned) says more than a click.
    private static int Rank(TouchKind kind) => kind switch
    {
        TouchKind.CodeEnteredOnline or TouchKind.PosCodeScan => 5,
        TouchKind.PosBatchCapture => 4,
        TouchKind.PosContactLookup => 3,
        TouchKind.KioskSignup => 2,
        _ => 1,
    };

    private static NotAttributedReason ReasonFrom(ConsideredTouch[] verdicts)
    {
        bool self = false, inactive = false, usedUp = false;
        foreach (var v in verdicts)
        {
            self |= v.Verdict == TouchVerdict.SelfReferral;
            inactive |= v.Verdict == TouchVerdict.CodeInactive;
            usedUp |= v.Verdict == TouchVerdict.CodeUsedUp;
        }
        return self ? NotAttributedReason.SelfReferral
            : inactive ? NotAttributedReason.CodeInactive
            : usedUp ? NotAttributedReason.CodeUsedUp
            : NotAttributedReason.OutsideWindow;
    }

    private static ConsideredTouch[] NotEvaluated(IReadOnlyList<Touch> touches)
    {
        var result = new ConsideredTouch[touches.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var t = touches[i];
            result[i] = new ConsideredTouch(t.Id, t.Kind, t.Referrer, t.EventTime, TouchVerdict.NotEvaluated);
        }
        return result;
    }

    internal static ChannelCombination? Combine(ShareMedium medium, ReferralCode? code, TouchKind? captureMethod, Channel converted)
    {
        if (captureMethod is null)
        {
            return null;
        }
        // A referrer found by contact (looked up at the till, or named by e-mail or phone in a POS batch) carries no code
        // and no medium: the referral was passed on by word of mouth, offline.
        var shared = medium == ShareMedium.Unknown && (code is null || captureMethod == TouchKind.PosContactLookup) ? Channel.Offline : medium.GetChannel();
        return (shared, converted) switch
        {
            (Channel.Online, Channel.Online) => ChannelCombination.OnlineToOnline,
            (Channel.Online, _) => ChannelCombination.OnlineToOffline,
            (_, Channel.Online) => ChannelCombination.OfflineToOnline,
            _ => ChannelCombination.OfflineToOffline,
        };
    }

    private static bool IsBefore(Instant t1, string o1, Instant t2, string o2) =>
        t1 < t2 || (t1 == t2 && string.CompareOrdinal(o1, o2) < 0);

}
