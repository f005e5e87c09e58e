using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Attribution;

/// <summary>
/// Records touches of referrals and conversions, and decides for every conversion which referral, if any, earns the
/// credit and why — across the four channel combinations. Thread-safe; register once per process.
/// </summary>
/// <remarks>
/// <para>
/// The decision is deterministic: the same touches and conversions, recorded in any order and any number of times, give
/// the same attribution once every conversion has been decided after the last touch arrived. A touch that arrives after
/// its conversion (a POS batch uploaded the next day) is taken into account by <see cref="ReevaluateAsync"/>,
/// <see cref="ReevaluateCustomerAsync"/> or <see cref="ReevaluateProgramAsync"/>; <see cref="ImportPosBatchAsync"/>
/// re-evaluates the customers it touched by itself.
/// </para>
/// <para>
/// Code status (paused, revoked) is the code's current status; expiry and use limits are judged at the conversion's
/// event time. Use limits count the earlier attributed conversions of the code (by event time, then order id).
/// </para>
/// <para>
/// Notifications (captures and decisions) go through the <see cref="RewardService"/>'s outbox, which keeps each until
/// every notifier took it (see <see cref="Notifications.PendingNotification"/>). Constructed without a
/// <see cref="RewardService"/> (dependency injection always passes one), the service tells its notifiers directly,
/// once: a notifier that throws then misses the change.
/// </para>
/// </remarks>
public sealed partial class AttributionService
{
    private readonly ReferralCodeService _codes;
    private readonly ITouchStore _touches;
    private readonly IConversionStore _conversions;
    private readonly IParticipantStore _participants;
    private readonly IClock _clock;
    private readonly NotifierSet _notifiers;
    private readonly ILogger _logger;
    private readonly Dictionary<ProgramId, ProgramRules> _programs;
    private readonly Lazy<ContactHasher?> _hasher;
    private readonly RewardService? _rewards;
    private readonly FraudService? _fraud;
    private readonly bool _requireLinkSignature;
    // The store keeps conversions, touches and rewards and can run a conversion's reads and writes as one transaction.
    private readonly ITransactionalStore? _transactions;

    /// <summary>Creates the service; options are validated here as in dependency injection.</summary>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    public AttributionService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        ReferralCodeService codes,
        ITouchStore touches,
        IConversionStore conversions,
        IParticipantStore participants,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<AttributionService>? logger = null,
        RewardService? rewards = null,
        FraudService? fraud = null)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        _codes = Preconditions.CheckNotNull(codes);
        _touches = Preconditions.CheckNotNull(touches);
        _conversions = Preconditions.CheckNotNull(conversions);
        _participants = Preconditions.CheckNotNull(participants);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _notifiers = new NotifierSet(notifiers, _logger);
        _programs = ProgramRules.Compile(o);
        _rewards = rewards;
        _fraud = fraud;
        _requireLinkSignature = o.Links.SignatureRequired;
        _hasher = new Lazy<ContactHasher?>(() => string.IsNullOrEmpty(o.Privacy.ContactHashKey) ? null : new ContactHasher(o));
        _transactions = _conversions is ITransactionalStore t && ReferenceEquals(t, _touches) && (rewards is null || ReferenceEquals(t, rewards.Store))
            ? t
            : null;
    }

    /// <summary>Records or replaces a participant (kind, contact hashes, masked contacts).</summary>
    public ValueTask RegisterParticipantAsync(Participant participant, CancellationToken cancellationToken = default) =>
        _participants.UpsertParticipantAsync(Preconditions.CheckNotNull(participant), cancellationToken);

    /// <summary>Tells the library that a visitor or device id belongs to a customer (after sign-up or log-in).</summary>
    public ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(visitorId), nameof(visitorId), "A visitor id cannot be empty.");
        return _participants.LinkVisitorAsync(visitorId, customer, cancellationToken);
    }

    /// <summary>
    /// Finds the referrers holding a contact hash (the e-mail or phone a friend gave at the till, hashed with
    /// <see cref="ContactHasher"/>), masked for the cashier to confirm.
    /// </summary>
    public async ValueTask<IReadOnlyList<ReferrerMatch>> LookupReferrersAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        var found = await _participants.FindParticipantsByContactAsync(contact, cancellationToken).ConfigureAwait(false);
        return found.Select(p => new ReferrerMatch(
            p.Id,
            p.Kind,
            (contact.Kind == ContactKind.Email ? p.MaskedEmail : p.MaskedPhone) ?? "***")).ToList();
    }

    /// <summary>
    /// Records a touch: the input is resolved as a code or link (or, for a contact look-up, the confirmed referrer is
    /// used), and the touch is stored once by its natural id. Expected refusals come back in the result, for any text in the
    /// request: input that is no code or link of ours is <see cref="CaptureRejection.CodeMalformed"/>.
    /// </summary>
    /// <remarks>
    /// Look-ups are under the code-guessing limit (<see cref="Codes.CodeGuessingOptions"/>), per
    /// <see cref="CaptureRequest.Source"/> and per program. A link must be signed when
    /// <see cref="Links.LinkOptions.RequireSignature"/> says so; an unsigned link's medium is never believed.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><see cref="CaptureRequest.Kind"/> is not a defined value.</exception>
    public async ValueTask<CaptureResult> CaptureAsync(CaptureRequest request, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(request);
        Preconditions.CheckArgument(Enum.IsDefined(request.Kind), nameof(request), $"Unknown touch kind {(int)request.Kind}.");
        if (request.VisitorId is null && request.Customer is null && request.Contact is null)
        {
            return new CaptureResult(CaptureOutcome.Rejected, CaptureRejection.NoProspect, null, null);
        }
        var built = await BuildTouchAsync(request, orderId: null, cancellationToken).ConfigureAwait(false);
        if (built.Touch is null)
        {
            return new CaptureResult(CaptureOutcome.Rejected, built.Rejection, null, built.CodeOutcome);
        }
        if (_rewards?.Outbox is not { KeepsCaptures: true })
        {
            return await StoreTouchAsync(built.Touch, built.CodeOutcome, after: null, cancellationToken).ConfigureAwait(false);
        }
        // The touch and its pending notification: one transaction when the store has them.
        return await InUnitOfWorkAsync(
            (Touch: built.Touch, Outcome: built.CodeOutcome),
            static (self, s, after, ct) => self.StoreTouchAsync(s.Touch, s.Outcome, after, ct),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a conversion and decides its attribution. Idempotent by program and order id: recording an order again
    /// returns the decision already made and changes nothing. A <see cref="Conversion.PresentedCode"/> is recorded as a
    /// touch at the conversion itself, as <see cref="CaptureAsync"/> would (the source for the guessing limit is the
    /// till, the visitor, else the customer); the conversion keeps only its normalised form (see
    /// <see cref="Conversion.PresentedCode"/>). With a <see cref="RewardService"/> registered, the decision's rewards are
    /// recorded as well (see <see cref="RewardService.ProcessAttributionAsync"/>). A presented code that cannot be used (any
    /// text: malformed, unknown, a link to another host) is not recorded and does not stop the order being recorded and decided.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="conversion"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The order id is empty or longer than 128 characters, the amount is below 0 or above 1,000,000,000,000 (10^12, in
    /// major units) or has no currency, the channel is not defined, or the event time is outside 0001-01-01T00:00:00Z to
    /// 9997-12-31T23:59:59Z.
    /// </exception>
    public ValueTask<AttributionResult> RecordConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        CheckConversion(conversion);
        return InUnitOfWorkAsync(conversion, static (self, c, after, ct) => self.RecordCoreAsync(c, after, ct), cancellationToken);
    }

    /// <summary>
    /// Records many conversions — a till's end-of-day upload, an import — and decides them in the order given, each as
    /// <see cref="RecordConversionAsync"/> would (idempotent by order id; a conversion sees the ones before it in the
    /// list). When the store can run them as one transaction (<see cref="ITransactionalStore"/>, as the SQLite store
    /// does), they are: committed together, or none of them when one fails, and the notifiers are told afterwards. That is
    /// much cheaper per conversion than one transaction each, but holds the store's write lock for the whole list: keep
    /// lists to a few hundred or thousand. Otherwise each conversion is recorded and committed in turn.
    /// </summary>
    /// <returns>The decisions, in the order of <paramref name="conversions"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="conversions"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A conversion is invalid (as for <see cref="RecordConversionAsync"/>); nothing is recorded.</exception>
    public ValueTask<IReadOnlyList<AttributionResult>> RecordConversionsAsync(IReadOnlyList<Conversion> conversions, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(conversions);
        for (int i = 0; i < conversions.Count; i++)
        {
            CheckConversion(conversions[i]);
        }
        // Without a transactional store, InUnitOfWorkAsync runs the loop directly: each conversion commits in turn.
        return InUnitOfWorkAsync(conversions, static async (self, list, after, ct) =>
        {
            var results = new AttributionResult[list.Count];
            for (int i = 0; i < results.Length; i++)
            {
                results[i] = await self.RecordCoreAsync(list[i], after, ct).ConfigureAwait(false);
            }
            return (IReadOnlyList<AttributionResult>)results;
        }, cancellationToken);
    }

    private async ValueTask<AttributionResult> RecordCoreAsync(Conversion conversion, AfterCommit? after, CancellationToken cancellationToken)
    {
        // The presented input may be an e-mail address, a phone number or a name typed into the code box: the store gets
        // only what it resolved to (PresentedForm), and the touch is built from the same resolution.
        string? presented = conversion.PresentedCode;
        CodeResolution? presentedResolution = null;
        if (presented is { } raw)
        {
            var resolution = _codes.Resolve(raw);
            presentedResolution = resolution;
            string? kept = _codes.PresentedForm(resolution);
            if (!string.Equals(kept, raw, StringComparison.Ordinal))
            {
                conversion = conversion with { PresentedCode = kept };
            }
        }
        if (!await _conversions.TryAddConversionAsync(conversion, cancellationToken).ConfigureAwait(false))
        {
            var existing = await _conversions.FindAttributionAsync(conversion.Program, conversion.OrderId, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (_rewards is not null)
                {
                    // Idempotent: completes the rewards of a conversion whose writer stopped between the two steps.
                    await _rewards.CommitAttributionAsync(existing, save: false, notify: false, after, cancellationToken).ConfigureAwait(false);
                }
                return existing;
            }
            // Recorded by a writer that has not decided yet (or crashed in between): decide now, from the stored conversion.
            conversion = (await _conversions.FindConversionAsync(conversion.Program, conversion.OrderId, cancellationToken).ConfigureAwait(false))!;
            presented = conversion.PresentedCode;
            presentedResolution = null;
        }
        if (presented is not null)
        {
            var request = new CaptureRequest
            {
                Program = conversion.Program,
                Kind = conversion.Channel == Channel.Online ? TouchKind.CodeEnteredOnline : TouchKind.PosCodeScan,
                EventTime = conversion.EventTime,
                Input = presented,
                Customer = conversion.Customer,
                VisitorId = conversion.VisitorId,
                StoreId = conversion.StoreId,
                RegisterId = conversion.RegisterId,
                CaptureId = "order:" + conversion.OrderId,
            };
            var built = await BuildTouchAsync(request, conversion.OrderId, cancellationToken, resolved: presentedResolution).ConfigureAwait(false);
            if (built.Touch is not null)
            {
                await StoreTouchAsync(built.Touch, built.CodeOutcome, after, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                LogPresentedCodeRejected(_logger, conversion.Program.Value, built.Rejection);
            }
        }
        return await DecideAndSaveAsync(conversion, after, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one unit of work — the reads and writes of a conversion — as one store transaction when the store offers one
    /// (<see cref="ITransactionalStore"/>), telling the notifiers once it has committed; otherwise runs it directly, each
    /// step telling the notifiers after its own write.
    /// </summary>
    private async ValueTask<TResult> InUnitOfWorkAsync<TState, TResult>(
        TState state,
        Func<AttributionService, TState, AfterCommit?, CancellationToken, ValueTask<TResult>> work,
        CancellationToken cancellationToken)
    {
        if (_transactions is null)
        {
            return await work(this, state, null, cancellationToken).ConfigureAwait(false);
        }
        var after = new AfterCommit();
        var result = await _transactions.RunInTransactionAsync(
            (Self: this, State: state, Work: work, After: after),
            static (s, ct) => s.Work(s.Self, s.State, s.After, ct),
            cancellationToken).ConfigureAwait(false);
        await after.RunAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Decides a recorded conversion again and stores the decision, as one unit of work.</summary>
    private ValueTask<AttributionResult> DecideAndCommitAsync(Conversion conversion, bool notify, CancellationToken cancellationToken) =>
        InUnitOfWorkAsync(
            (Conversion: conversion, Notify: notify),
            static (self, s, after, ct) => self.DecideAndSaveAsync(s.Conversion, after, ct, s.Notify),
            cancellationToken);

    /// <summary>Decides one recorded conversion again (after late touches or identity links) and stores the new decision.</summary>
    /// <returns>The decision, or <see langword="null"/> when no such order was recorded.</returns>
    public async ValueTask<AttributionResult?> ReevaluateAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(orderId);
        var conversion = await _conversions.FindConversionAsync(program, orderId, cancellationToken).ConfigureAwait(false);
        return conversion is null ? null : await DecideAndCommitAsync(conversion, notify: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Decides all of a customer's conversions again, in event order.</summary>
    /// <returns>How many decisions changed.</returns>
    public async ValueTask<int> ReevaluateCustomerAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        int changed = 0;
        foreach (var c in await _conversions.ListConversionsAsync(program, customer, cancellationToken).ConfigureAwait(false))
        {
            var before = await _conversions.FindAttributionAsync(program, c.OrderId, cancellationToken).ConfigureAwait(false);
            var after = await DecideAndCommitAsync(c, notify: true, cancellationToken).ConfigureAwait(false);
            if (before is null || !SameDecision(before, after))
            {
                changed++;
            }
        }
        return changed;
    }

    /// <summary>
    /// Decides every conversion of a program again, in event order, repeating until nothing changes (chains depend on
    /// other customers' decisions). For repair jobs and after restoring data; costs a pass over the program's conversions.
    /// </summary>
    /// <returns>How many decisions changed in all.</returns>
    public async ValueTask<int> ReevaluateProgramAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        int total = 0;
        int depth = _programs.TryGetValue(program, out var rules) ? rules.MaxChainDepth : 1;
        for (int pass = 0; pass <= depth + 1; pass++)
        {
            int changed = 0;
            foreach (var c in await _conversions.ListAllConversionsAsync(program, cancellationToken).ConfigureAwait(false))
            {
                var before = await _conversions.FindAttributionAsync(program, c.OrderId, cancellationToken).ConfigureAwait(false);
                var after = await DecideAndCommitAsync(c, notify: false, cancellationToken).ConfigureAwait(false);
                if (before is null || !SameDecision(before, after))
                {
                    changed++;
                }
            }
            total += changed;
            if (changed == 0)
            {
                break;
            }
        }
        return total;
    }

    /// <summary>Reads the decision of an order, or <see langword="null"/>.</summary>
    public ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) =>
        _conversions.FindAttributionAsync(program, Preconditions.CheckNotNull(orderId), cancellationToken);

    internal static bool SameDecision(AttributionResult a, AttributionResult b) =>
        a.Reason == b.Reason && a.Referrer == b.Referrer && a.Code == b.Code && a.TouchId == b.TouchId
        && a.IsRepeat == b.IsRepeat && a.Combination == b.Combination && a.Chain.SequenceEqual(b.Chain)
        && a.Fraud?.Verdict == b.Fraud?.Verdict;

    private async ValueTask<AttributionResult> DecideAndSaveAsync(Conversion conversion, AfterCommit? after, CancellationToken cancellationToken, bool notify = true)
    {
        var result = await DecideAsync(conversion, cancellationToken).ConfigureAwait(false);
        ReferralsTelemetry.ConversionsDecided.Add(1, result.IsAttributed ? ReferralsTelemetry.Attributed : ReferralsTelemetry.NotAttributed);
        if (_rewards is not null)
        {
            // One unit of work: the attribution (with its fraud verdict), its rewards and the pending notifications.
            await _rewards.CommitAttributionAsync(result, save: true, notify, after, cancellationToken).ConfigureAwait(false);
            return result;
        }
        await _conversions.SaveAttributionAsync(result, cancellationToken).ConfigureAwait(false);
        if (notify)
        {
            await NotifyAsync(NotificationKind.ConversionDecided, result, after, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    private async ValueTask<AttributionResult> DecideAsync(Conversion conversion, CancellationToken ct)
    {
        var result = new Decision(conversion, _clock.GetCurrentInstant());
        if (!_programs.TryGetValue(conversion.Program, out var rules))
        {
            return result.With(NotAttributedReason.ProgramNotConfigured);
        }
        if (!rules.IsActiveAt(conversion.EventTime))
        {
            return result.With(NotAttributedReason.ProgramInactive);
        }

        // Sticky referee: the customer's first attributed conversion before this one decides later ones.
        if (rules.Sticky != StickyReferee.Off)
        {
            var first = await _conversions.FindFirstAttributionAsync(conversion.Program, conversion.Customer, ct).ConfigureAwait(false);
            if (first is not null && IsBefore(first.ConversionTime, first.OrderId, conversion.EventTime, conversion.OrderId))
            {
                if (rules.Sticky == StickyReferee.NotCreditedAgain)
                {
                    return result.With(NotAttributedReason.AlreadyAttributed, first.Referrer);
                }
                return result.Repeat(first);
            }
        }

        var participant = await _participants.FindParticipantAsync(conversion.Customer, ct).ConfigureAwait(false);
        var visitors = await _participants.FindVisitorsAsync(conversion.Customer, ct).ConfigureAwait(false);
        if (conversion.VisitorId is { } v && !visitors.Contains(v))
        {
            visitors = [.. visitors, v];
        }
        var contacts = participant is null || participant.Contacts.Count == 0
            ? conversion.Contacts
            : conversion.Contacts.Count == 0 ? participant.Contacts : [.. participant.Contacts.Union(conversion.Contacts)];
        var touches = await _touches.FindTouchesAsync(conversion.Program, conversion.Customer, visitors, contacts, ct).ConfigureAwait(false);

        if (rules.NewCustomersOnly)
        {
            bool isNew = conversion.IsNewCustomer ?? !await HasEarlierConversionAsync(conversion, ct).ConfigureAwait(false);
            if (!isNew)
            {
                return result.With(NotAttributedReason.NotNewCustomer, touches: NotEvaluated(touches));
            }
        }
        if (!rules.MeetsMinimum(conversion.Amount))
        {
            return result.With(NotAttributedReason.BelowMinimumOrder, touches: NotEvaluated(touches));
        }
        if (touches.Count == 0)
        {
            return result.With(NotAttributedReason.NoTouch);
        }

        var verdicts = new ConsideredTouch[touches.Count];
        int winner = -1;
        bool winnerAtConversion = false;
        Instant windowStart = conversion.EventTime - rules.Window;
        for (int i = 0; i < touches.Count; i++)
        {
            var t = touches[i];
            bool atConversion = t.OrderId == conversion.OrderId;
            var verdict = await JudgeAsync(t, atConversion, conversion, contacts, windowStart, ct).ConfigureAwait(false);
            verdicts[i] = new ConsideredTouch(t.Id, t.Kind, t.Referrer, t.EventTime, verdict);
            if (verdict != TouchVerdict.Outranked)
            {
                continue; // not eligible
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
            return result.With(ReasonFrom(verdicts), touches: verdicts);
        }
        var chosen = touches[winner];
        verdicts[winner] = verdicts[winner] with { Verdict = TouchVerdict.Chosen };
        var (chain, referrersFirst) = await ChainAsync(conversion, chosen.Referrer, rules.MaxChainDepth, ct).ConfigureAwait(false);
        var credit = result.Create(
            NotAttributedReason.None,
            chosen.Referrer,
            verdicts,
            chosen.Code,
            chosen.Medium,
            chosen.Kind,
            chosen.Id,
            chain,
            isRepeat: false,
            Combine(chosen.Medium, chosen.Kind, conversion.Channel));
        if (_fraud is null || await _fraud.AssessAsync(conversion, credit, participant, contacts, referrersFirst, ct).ConfigureAwait(false) is not { } assessment)
        {
            return credit;
        }
        return assessment.Verdict == FraudVerdict.Block
            ? credit with { Reason = NotAttributedReason.FraudBlocked, Chain = [], Fraud = assessment }
            : credit with { Fraud = assessment };
    }

    /// <summary>The fields every decision shares, so each decision allocates its result once.</summary>
    private readonly struct Decision(Conversion conversion, Instant decidedAt)
    {
        public AttributionResult With(NotAttributedReason reason, ParticipantId? referrer = null, IReadOnlyList<ConsideredTouch>? touches = null) =>
            Create(reason, referrer, touches ?? [], null, ShareMedium.Unknown, null, null, [], isRepeat: false, null);

        public AttributionResult Repeat(AttributionResult first) =>
            Create(
                NotAttributedReason.None,
                first.Referrer,
                [],
                first.Code,
                first.Medium,
                first.CaptureMethod,
                first.TouchId,
                first.Chain,
                isRepeat: true,
                Combine(first.Medium, first.CaptureMethod, conversion.Channel));

        public AttributionResult Create(
            NotAttributedReason reason,
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

    private async ValueTask<TouchVerdict> JudgeAsync(
        Touch t,
        bool atConversion,
        Conversion conversion,
        IReadOnlyList<ContactHash> customerContacts,
        Instant windowStart,
        CancellationToken ct)
    {
        if (!atConversion && t.EventTime > conversion.EventTime)
        {
            return TouchVerdict.AfterConversion;
        }
        if (!atConversion && t.EventTime < windowStart)
        {
            return TouchVerdict.OutsideWindow;
        }
        if (t.Referrer == conversion.Customer || await SharesContactAsync(t.Referrer, customerContacts, ct).ConfigureAwait(false))
        {
            return TouchVerdict.SelfReferral;
        }
        if (t.Code is { } code && _codes.FindIndexed(code) is { } record)
        {
            if (record.Status != CodeStatus.Active || (record.ExpiresAt is { } exp && conversion.EventTime >= exp))
            {
                return TouchVerdict.CodeInactive;
            }
            if (record.MaxUses is { } max
                && await _conversions.CountCodeUsesBeforeAsync(code, conversion.EventTime, conversion.OrderId, ct).ConfigureAwait(false) >= max)
            {
                return TouchVerdict.CodeUsedUp;
            }
        }
        return TouchVerdict.Outranked; // eligible; the winner is marked Chosen afterwards
    }

    private async ValueTask<bool> SharesContactAsync(ParticipantId referrer, IReadOnlyList<ContactHash> customerContacts, CancellationToken ct)
    {
        if (customerContacts.Count == 0)
        {
            return false;
        }
        var p = await _participants.FindParticipantAsync(referrer, ct).ConfigureAwait(false);
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

    private async ValueTask<bool> HasEarlierConversionAsync(Conversion conversion, CancellationToken ct)
    {
        // Indexed rather than foreach: a foreach over the interface boxes an enumerator on every conversion.
        var list = await _conversions.ListConversionsAsync(conversion.Program, conversion.Customer, ct).ConfigureAwait(false);
        for (int i = 0; i < list.Count; i++)
        {
            if (IsBefore(list[i].EventTime, list[i].OrderId, conversion.EventTime, conversion.OrderId))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The chain of referrers from <paramref name="referrer"/> up, and the referrer's first attribution if it was read.</summary>
    private async ValueTask<(IReadOnlyList<ParticipantId> Chain, StrongBox<AttributionResult?>? ReferrersFirst)> ChainAsync(
        Conversion conversion,
        ParticipantId referrer,
        int depth,
        CancellationToken ct)
    {
        if (depth == 1)
        {
            return ([referrer], null);
        }
        var top = await _conversions.FindFirstAttributionAsync(conversion.Program, referrer, ct).ConfigureAwait(false);
        var read = new StrongBox<AttributionResult?>(top);
        if (top?.Referrer is not { } second || second == conversion.Customer || second == referrer)
        {
            return ([referrer], read); // the common case: the referrer was not referred
        }
        var chain = new List<ParticipantId>(depth) { referrer, second };
        var current = second;
        while (chain.Count < depth)
        {
            var up = await _conversions.FindFirstAttributionAsync(conversion.Program, current, ct).ConfigureAwait(false);
            if (up?.Referrer is not { } next || next == conversion.Customer || chain.Contains(next))
            {
                break; // the top of the chain, or a loop
            }
            chain.Add(next);
            current = next;
        }
        return (chain, read);
    }

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
        return string.CompareOrdinal(candidate.Id, best.Id) < 0;
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

    private static ChannelCombination? Combine(ShareMedium medium, TouchKind? captureMethod, Channel converted)
    {
        if (captureMethod is null)
        {
            return null;
        }
        // A contact look-up carries no medium: the referral was passed on by word of mouth, offline.
        var shared = medium == ShareMedium.Unknown && captureMethod == TouchKind.PosContactLookup ? Channel.Offline : medium.GetChannel();
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

    private static void CheckConversion(Conversion conversion)
    {
        Preconditions.CheckNotNull(conversion);
        Preconditions.CheckArgument(
            !string.IsNullOrWhiteSpace(conversion.OrderId) && conversion.OrderId.Length <= 128,
            nameof(conversion),
            $"An order id is 1 to 128 characters; got '{conversion.OrderId}'.");
        // The upper bound keeps every reward computation inside decimal's range (see AmountLimits).
        Preconditions.CheckArgument(
            conversion.Amount.Amount is >= 0 and <= AmountLimits.MaxAmount,
            nameof(conversion),
            $"An order amount is 0 to {AmountLimits.MaxAmountText}; got {conversion.Amount}.");
        Preconditions.CheckArgument(conversion.Amount.Currency.Length == 3, nameof(conversion), "The order amount needs a currency.");
        Preconditions.CheckArgument(Enum.IsDefined(conversion.Channel), nameof(conversion), $"Unknown channel {(int)conversion.Channel}.");
        Preconditions.CheckArgument(
            EventTimes.IsSupported(conversion.EventTime),
            nameof(conversion),
            $"An order's event time must be {EventTimes.RangeText}; got {conversion.EventTime}.");
    }

    private async ValueTask<(Touch? Touch, CaptureRejection Rejection, CodeResolutionOutcome? CodeOutcome)> BuildTouchAsync(
        CaptureRequest request,
        string? orderId,
        CancellationToken ct,
        bool limitGuessing = true,
        CodeResolution? resolved = null)
    {
        ParticipantId referrer;
        ReferralCode? code = null;
        ShareMedium medium;
        CodeResolutionOutcome? outcome = null;
        if (request.Kind == TouchKind.PosContactLookup || (request.Input is null && request.Referrer is not null))
        {
            if (request.Referrer is not { } r || await _participants.FindParticipantAsync(r, ct).ConfigureAwait(false) is null)
            {
                return (null, CaptureRejection.UnknownReferrer, null);
            }
            referrer = r;
            medium = ShareMedium.Unknown;
        }
        else
        {
            // Rows of a POS batch come from the shop's own database, not from someone typing: they are not limited.
            var guard = limitGuessing ? _codes.Guard : null;
            var now = _clock.GetCurrentInstant();
            if (guard is not null && guard.IsRefused(request.Program, GuessingSource(request), now))
            {
                return (null, CaptureRejection.TooManyFailedLookups, null);
            }
            var resolution = resolved ?? _codes.Resolve(request.Input);
            outcome = resolution.Outcome;
            if (guard is not null && resolution.Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed)
            {
                guard.CountFailures(request.Program, GuessingSource(request), now);
            }
            switch (resolution.Outcome)
            {
                case CodeResolutionOutcome.Malformed:
                    return (null, CaptureRejection.CodeMalformed, outcome);
                case CodeResolutionOutcome.NotFound:
                    return (null, CaptureRejection.CodeNotFound, outcome);
                case CodeResolutionOutcome.CheckFailed:
                    return (null, CaptureRejection.CodeCheckFailed, outcome);
            }
            var record = resolution.Record!;
            if (record.Program != request.Program)
            {
                return (null, CaptureRejection.WrongProgram, outcome);
            }
            if (record.Owner is not { } owner)
            {
                return (null, CaptureRejection.CodeUnassigned, outcome);
            }
            if (resolution.Link is { Signature: Links.LinkSignatureStatus.Invalid })
            {
                return (null, CaptureRejection.LinkSignatureInvalid, outcome);
            }
            if (resolution.Link is { Signature: Links.LinkSignatureStatus.Absent } && _requireLinkSignature)
            {
                return (null, CaptureRejection.LinkSignatureMissing, outcome);
            }
            referrer = owner;
            code = record.Code;
            // Only a signature vouches for a link's medium: an unsigned link's is whatever its sender typed.
            medium = resolution.Link is { Signature: Links.LinkSignatureStatus.Valid, Medium: not ShareMedium.Unknown } link ? link.Medium : record.Medium;
        }
        var touch = new Touch
        {
            Id = TouchId(request, referrer, code),
            Program = request.Program,
            Kind = request.Kind,
            Referrer = referrer,
            Code = code,
            Medium = medium,
            VisitorId = request.VisitorId,
            Customer = request.Customer,
            Contact = request.Contact,
            StoreId = request.StoreId,
            RegisterId = request.RegisterId,
            OrderId = orderId,
            EventTime = request.EventTime,
            RecordedAt = _clock.GetCurrentInstant(),
        };
        return (touch, CaptureRejection.None, outcome);
    }

    /// <summary>
    /// Records a touch and tells the notifiers. With an outbox for captures (a <see cref="RewardService"/> that can read
    /// touches back) the touch's notification is kept until every notifier took it: inside a store transaction
    /// (<paramref name="after"/> given) it is written with the touch and delivered once the transaction commits; without
    /// one it is written first, so that a process stopping between the two writes cannot leave a touch whose notification
    /// was never written (a notification whose touch is missing is dropped by the lifecycle pass), and removed again when
    /// the touch turns out to be recorded before.
    /// </summary>
    private async ValueTask<CaptureResult> StoreTouchAsync(Touch touch, CodeResolutionOutcome? outcome, AfterCommit? after, CancellationToken ct)
    {
        var outbox = _rewards?.Outbox;
        if (outbox is not { KeepsCaptures: true })
        {
            if (!await _touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
            ReferralsTelemetry.TouchesCaptured.Add(1);
            await NotifyAsync(NotificationKind.ReferralCaptured, touch, after, ct).ConfigureAwait(false);
            return new CaptureResult(CaptureOutcome.Captured, CaptureRejection.None, touch, outcome);
        }
        var planned = outbox.PlanCaptured(touch, _clock.GetCurrentInstant());
        if (after is not null)
        {
            if (!await _touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
            await outbox.WriteAsync(planned, ct).ConfigureAwait(false);
            after.Deliver(outbox, planned, touch);
        }
        else
        {
            await outbox.WriteAsync(planned, ct).ConfigureAwait(false);
            if (!await _touches.TryAddTouchAsync(touch, ct).ConfigureAwait(false))
            {
                await outbox.DiscardAsync(planned, ct).ConfigureAwait(false);
                return new CaptureResult(CaptureOutcome.Duplicate, CaptureRejection.None, touch, outcome);
            }
            var failure = await outbox.TellAsync(planned, touch, ct).ConfigureAwait(false);
            await outbox.RecordAsync(failure is null ? [planned.Id] : [], failure is { } f ? [f] : null, ct).ConfigureAwait(false);
        }
        ReferralsTelemetry.TouchesCaptured.Add(1);
        return new CaptureResult(CaptureOutcome.Captured, CaptureRejection.None, touch, outcome);
    }

    /// <summary>
    /// Tells the notifiers directly, once, without the outbox (no <see cref="RewardService"/> to keep notifications):
    /// now, or once the store transaction this is part of has committed. A notifier's failure is logged and counted.
    /// </summary>
    private ValueTask NotifyAsync(NotificationKind kind, object item, AfterCommit? after, CancellationToken ct)
    {
        if (_notifiers.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }
        if (after is null)
        {
            return TellOnceAsync(kind, item, ct);
        }
        after.Add(c => TellOnceAsync(kind, item, c));
        return ValueTask.CompletedTask;
    }

    private async ValueTask TellOnceAsync(NotificationKind kind, object item, CancellationToken ct) =>
        _ = await _notifiers.TellAsync(kind, item, [], ct).ConfigureAwait(false);

    /// <summary>
    /// Who is looking codes up, for the guessing limit: the host's source, else the till, else the visitor, the customer or
    /// the contact; with none of them, the program's shared unknown source.
    /// </summary>
    private static LookupSource GuessingSource(CaptureRequest r) =>
        r.Source is { Length: > 0 } s ? LookupSource.Host(s)
        : r.RegisterId is not null || r.StoreId is not null ? LookupSource.Till(r.StoreId, r.RegisterId)
        : r.VisitorId is { } v ? LookupSource.Visitor(v)
        : r.Customer is { } c ? LookupSource.Customer(c.Value)
        : r.Contact is { } h ? LookupSource.Contact(h.ToString())
        : LookupSource.Unknown;

    /// <summary>
    /// The natural id of a touch: the capture id where the capturing system gave one, otherwise a 128-bit hash of what
    /// makes the touch itself (kind, referrer, code, prospect, place, instant), so a re-sent capture is the same touch.
    /// </summary>
    private static string TouchId(CaptureRequest r, ParticipantId referrer, ReferralCode? code)
    {
        if (r.CaptureId is { } captureId)
        {
            return $"{(int)r.Kind}:{r.StoreId}:{captureId}";
        }
        var text = string.Join(
            '\u001F',
            (int)r.Kind,
            r.Program.Value,
            referrer.Value,
            code?.Value,
            r.VisitorId,
            r.Customer?.Value,
            r.Contact?.ToString(),
            r.StoreId,
            r.RegisterId,
            r.EventTime.ToUnixTimeTicks());
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(Encoding.UTF8.GetBytes(text), hash);
        return "h:" + Convert.ToHexStringLower(hash);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "A code presented at a conversion in program {Program} was not recorded: {Rejection}")]
    private static partial void LogPresentedCodeRejected(ILogger logger, string program, CaptureRejection rejection);
}
