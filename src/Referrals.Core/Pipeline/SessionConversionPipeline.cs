using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The conversion pipeline on the narrow store contract: decide (<see cref="AttributionDecider"/>) → assess
/// (<see cref="FraudAssessor"/>) → plan rewards (<see cref="RewardPlanner"/>, from summaries) → one unit of work computed
/// completely here (<see cref="ConversionUnit"/>) → commit → notify. The session is passed explicitly to every stage;
/// nothing is found by object identity and no flag decides who saves what. Thread-safe.
/// </summary>
/// <remarks>
/// Constant cost: a conversion reads the order, the prospect's identity and touches, the account summaries of the
/// customer, the referrer and each level paid, and one cap-usage row per cap period — never a referrer's ledger or
/// decision list, so its cost does not grow with the referrer's history.
/// </remarks>
internal sealed partial class SessionConversionPipeline(
    IReferralStore store,
    AttributionDecider decider,
    TouchBuilder touches,
    FraudAssessor? assessor,
    IReadOnlyDictionary<ProgramId, RewardRuleSet> rules,
    NotifierSet notifiers,
    NotificationDispatcher outbox,
    IClock clock,
    ILogger logger)
{
    private const int MaxAttempts = 16;

    /// <summary>The reward rules of every configured program that has any, compiled in its time zone.</summary>
    public static Dictionary<ProgramId, RewardRuleSet> CompileRules(ReferralsOptions options)
    {
        var rules = new Dictionary<ProgramId, RewardRuleSet>();
        foreach (var (id, program) in options.Programs)
        {
            if (RewardRuleSet.Compile(program.Rewards, DateTimeZoneProviders.Tzdb[program.TimeZone]) is { } set)
            {
                rules[new ProgramId(id)] = set;
            }
        }
        return rules;
    }

    /// <summary>Composes the pipeline from validated options.</summary>
    public static SessionConversionPipeline Create(
        ReferralsOptions options,
        IReferralStore store,
        CodeResolver codes,
        IClock clock,
        FraudAssessor? fraud,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger logger)
    {
        var told = new NotifierSet(notifiers, logger);
        var rules = CompileRules(options);
        return new SessionConversionPipeline(
            store,
            new AttributionDecider(Programs.ProgramRules.Compile(options), clock),
            new TouchBuilder(codes, clock, options.Links.SignatureRequired),
            fraud,
            rules,
            told,
            new NotificationDispatcher(new OutboxPort(store), told, options.Notifications, clock, logger),
            clock,
            logger);
    }

    /// <summary>What one conversion wrote: its decision, the ledger entries and the notifications to deliver after the commit.</summary>
    internal sealed record Outcome(AttributionResult Result, RewardDecision? Decision, IReadOnlyList<RewardEntry> Entries, IReadOnlyList<(PendingNotification Notification, object Payload)> Notifications);

    /// <summary>Records one conversion in a session of its own: begin, run, commit, then notify.</summary>
    public async ValueTask<AttributionResult> RecordAsync(Conversion conversion, CancellationToken ct)
    {
        Outcome outcome;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            outcome = await RunAsync(session, conversion, ct).ConfigureAwait(false);
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await DeliverAsync(outcome.Notifications, ct).ConfigureAwait(false);
        return outcome.Result;
    }

    /// <summary>Records conversions in one session (all or none); each later one reads the earlier ones' writes.</summary>
    public async ValueTask<IReadOnlyList<AttributionResult>> RecordManyAsync(IReadOnlyList<Conversion> conversions, CancellationToken ct)
    {
        var results = new AttributionResult[conversions.Count];
        var told = new List<(PendingNotification, object)>();
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            for (int i = 0; i < conversions.Count; i++)
            {
                var outcome = await RunAsync(session, conversions[i], ct).ConfigureAwait(false);
                results[i] = outcome.Result;
                told.AddRange(outcome.Notifications);
            }
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await DeliverAsync(told, ct).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Runs one conversion inside the caller's session: never commits, never notifies. Idempotent by (program, order id):
    /// an order recorded before returns its stored decision and writes nothing.
    /// </summary>
    public async ValueTask<Outcome> RunAsync(IReferralStoreSession session, Conversion conversion, CancellationToken ct)
    {
        var told = new List<(PendingNotification, object)>();
        CodeResolution? presentedResolution = null;
        string? presented = conversion.PresentedCode;
        if (presented is { } raw)
        {
            // The store gets only what the presented input resolved to, never an e-mail address or phone typed there.
            var resolution = touches.Codes.Resolve(raw);
            if (resolution.Outcome == CodeResolutionOutcome.NotFound)
            {
                // Issued by another process since this index last caught up (another app instance, the POS service):
                // the store has it, and the order must not lose its referral for the few seconds until the refresh.
                foreach (var key in touches.Codes.MissedKeys(raw, resolution))
                {
                    if (await session.FindCodeAsync(key, ct).ConfigureAwait(false) is { } stored)
                    {
                        touches.Codes.Index.Set(stored);
                        resolution = touches.Codes.Resolve(raw);
                        break;
                    }
                }
            }
            presentedResolution = resolution;
            string? kept = touches.Codes.PresentedForm(resolution);
            if (!string.Equals(kept, raw, StringComparison.Ordinal))
            {
                conversion = conversion with { PresentedCode = kept };
            }
        }
        // The decision's first attempt reads through these facts: on a server store the order, the customer and what the
        // decision reads of them come in one round trip here.
        // The owner of the code presented is who the decision judges in the common case (a friend typing a code at
        // checkout): their reads come with the first round trip too.
        var likelyReferrer = presentedResolution is { Outcome: CodeResolutionOutcome.Found } found && found.Program == conversion.Program ? found.Owner : null;
        var facts = await PrefetchedFactsAsync(session, conversion, ct, likelyReferrer).ConfigureAwait(false);
        if (await facts.FindOrderAsync(conversion.Program, conversion.OrderId, ct).ConfigureAwait(false) is { } recorded)
        {
            var stored = OrderDocument.FromRow(recorded);
            return new Outcome(stored.Attribution, stored.Decision, [], told);
        }
        // The capture is built from what was presented (its resolution counts against the guessing limit even when
        // nothing of it is kept), the conversion keeps only the resolved form. Its touch is written with the decision, in
        // the conversion's one unit: the decision sees it among the customer's touches (SessionFacts.PendingTouch).
        var captured = presented is null ? null : await BuildCaptureAsync(facts, conversion, presented, presentedResolution, ct).ConfigureAwait(false);
        var outcome = await DecideAsync(session, conversion, existing: null, tell: true, ct, facts, captured).ConfigureAwait(false);
        return outcome with { Notifications = [.. told, .. outcome.Notifications] };
    }

    /// <summary>
    /// Decides a recorded order again inside the caller's session (late touches, identity links, repair passes): the
    /// stored decision is replaced, and when the credit moved the earlier rewards are reversed and the new ones decided.
    /// </summary>
    /// <returns>The outcome, or <see langword="null"/> when no such order is recorded.</returns>
    public async ValueTask<Outcome?> RedecideAsync(IReferralStoreSession session, ProgramId program, string orderId, bool tell, CancellationToken ct)
    {
        var existing = await session.FindOrderAsync(program, orderId, ct).ConfigureAwait(false);
        if (existing is null)
        {
            return null;
        }
        var customer = await new SessionFacts(session, null).AccountAsync(program, existing.Conversion.Customer, ct).ConfigureAwait(false);
        if (customer.ErasedAt is not null)
        {
            // The customer's personal data is erased: what it was decided on is gone, so the decision stands as stored.
            var stored = OrderDocument.FromRow(existing);
            return new Outcome(stored.Attribution, stored.Decision, [], []);
        }
        return await DecideAsync(session, existing.Conversion, existing, tell, ct).ConfigureAwait(false);
    }

    /// <summary>Decides one recorded order again in a session of its own: begin, decide, commit, notify.</summary>
    public async ValueTask<AttributionResult?> RedecideAsync(ProgramId program, string orderId, bool tell, CancellationToken ct)
    {
        Outcome? outcome;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            outcome = await RedecideAsync(session, program, orderId, tell, ct).ConfigureAwait(false);
            if (outcome is null)
            {
                return null;
            }
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await DeliverAsync(outcome.Notifications, ct).ConfigureAwait(false);
        return outcome.Result;
    }

    // 1 decide → 2 assess → 3 plan rewards → 4 write the unit, in the caller's session; retried on a conflict.
    private async ValueTask<Outcome> DecideAsync(IReferralStoreSession session, Conversion conversion, OrderRow? existing, bool tell, CancellationToken ct, SessionFacts? prefetched = null, Captured? captured = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            // A later attempt reads everything again: what the earlier one read has moved.
            var facts = attempt == 1 && prefetched is not null ? prefetched : new SessionFacts(session, touches.Codes);
            facts.PendingTouch = captured?.Touch;
            var decision = await decider.DecideAsync(conversion, facts, ct).ConfigureAwait(false);
            var result = decision.Result;
            if (decision.IsCredited && assessor is not null && assessor.Assesses(conversion.Program))
            {
                var referrer = await facts.FindParticipantAsync(result.Referrer!.Value, ct).ConfigureAwait(false);
                // The library's own history reads through this session; a host's own registration is the host's to keep.
                IFraudHistory history = assessor.History is ContractFraudHistory ? facts : assessor.History;
                var assessment = await assessor.AssessAsync(decision.ToFraudCase(conversion, referrer), history, ct).ConfigureAwait(false);
                result = decision.Complete(assessment);
            }
            var now = clock.GetCurrentInstant();
            var unit = new ConversionUnit(conversion, existing, result, facts);
            var rewarded = await unit.ComputeAsync(rules.GetValueOrDefault(conversion.Program), now, ct).ConfigureAwait(false);
            var planned = Plan(conversion.Program, rewarded.Entries, tell ? result : null, now);
            if (captured?.Note is { } capturedNote)
            {
                unit.Unit.Notifications.Add(capturedNote);
            }
            unit.Unit.Notifications.AddRange(planned);
            var written = await session.WriteAsync(unit.Unit.Build(captured is null ? null : [captured.Touch]), ct).ConfigureAwait(false);
            if (written is { Status: WriteStatus.Duplicate, Kind: RowKind.Touch } && captured is not null && written.Key == captured.Touch.Id)
            {
                // The capture's touch was recorded before (its natural id): the decision reads it from the store instead.
                captured = null;
                continue;
            }
            if (written.Status == WriteStatus.Written)
            {
                ReferralsTelemetry.ConversionsDecided.Add(1, result.IsAttributed ? ReferralsTelemetry.Attributed : ReferralsTelemetry.NotAttributed);
                ReferralsTelemetry.RewardsEarned.Add(CountEarned(rewarded.Entries));
                foreach (var ignored in unit.RefundsInOtherCurrency)
                {
                    ReferralsTelemetry.RefundsIgnored.Add(1);
                    LogRefundInOtherCurrency(logger, ignored.RefundId, conversion.OrderId, conversion.Program.Value, ignored.Amount.Currency, conversion.Amount.Currency);
                }
                var told = new List<(PendingNotification, object)>(planned.Count + 1);
                if (captured is not null)
                {
                    ReferralsTelemetry.TouchesCaptured.Add(1);
                    if (captured.Note is { } note)
                    {
                        told.Add((note, captured.Touch));
                    }
                }
                for (int i = 0; i < planned.Count; i++)
                {
                    told.Add((planned[i], i < rewarded.Entries.Count ? rewarded.Entries[i] : result));
                }
                var entries = rewarded.Entries;
                if (unit.Unit.Triggers.Count > 0 || unit.BeforeCustomersOrders || unit.MovedCustomersFirstReferral
                    || (result.Code is { } used && touches.Codes.FindIndexed(used) is { MaxUses: not null }))
                {
                    // Only a late order (or a use-limited code) pays for what follows; an in-order one allocates nothing for it.
                    entries = await FollowUpAsync(session, conversion, unit, result, entries, told, now, ct).ConfigureAwait(false);
                }
                return new Outcome(result, rewarded.Decision, entries, told);
            }
            if (attempt >= MaxAttempts)
            {
                throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"Gave up recording order {conversion.OrderId} after {attempt} conflicting attempts ({written}).");
            }
            // A conflict: a summary or the order moved since it was read (another writer on a concurrent store). Read the
            // order again; an order recorded meanwhile by another writer is returned as it stands.
            var current = await session.FindOrderAsync(conversion.Program, conversion.OrderId, ct).ConfigureAwait(false);
            if (existing is null && current is not null)
            {
                var stored = OrderDocument.FromRow(current);
                return new Outcome(stored.Attribution, stored.Decision, [], []);
            }
            existing = current;
        }
    }

    /// <summary>
    /// What a written conversion re-decides after it, in the session: the later rewards it changes (<see cref="RewardCascade"/>),
    /// the customer's later orders when it came before them, the referrer's later uses of a use-limited code now over its
    /// limit, and the customer's own referrals when their first referral moved. Returns every entry written, its own first.
    /// </summary>
    private async ValueTask<IReadOnlyList<RewardEntry>> FollowUpAsync(
        IReferralStoreSession session,
        Conversion conversion,
        ConversionUnit unit,
        AttributionResult result,
        IReadOnlyList<RewardEntry> entries,
        List<(PendingNotification, object)> told,
        Instant now,
        CancellationToken ct)
    {
        if (unit.Unit.Triggers.Count > 0 && rules.GetValueOrDefault(conversion.Program) is { } programRules)
        {
            // A late order: the later rewards it changes are re-decided in this session (see RewardCascade).
            var cascade = new RewardCascade(session, conversion.Program, programRules, e => Plan(conversion.Program, e, null, now), now);
            await cascade.RunAsync(unit.Unit.Triggers, ct).ConfigureAwait(false);
            RewardCascade.Pair(cascade, told);
            entries = [.. entries, .. cascade.Entries];
        }
        var point = new ListPosition(conversion.EventTime, conversion.OrderId);
        if (unit.BeforeCustomersOrders)
        {
            // Arrived before the customer's orders recorded so far: they may now be repeats, or credited otherwise.
            entries = [.. entries, .. await RedecideAfterAsync(session, conversion.Program, (after, n) => session.ListCustomerOrdersAsync(conversion.Program, conversion.Customer, after, n, ct), point, told, ct).ConfigureAwait(false)];
        }
        if (result is { IsAttributed: true, IsRepeat: false, Referrer: { } user, Code: { } code }
            && touches.Codes.FindIndexed(code) is { MaxUses: { } maxUses }
            && await session.CountCodeUsesAsync(code, PlanInputs.End, maxUses + 1, ct).ConfigureAwait(false) > maxUses)
        {
            // A use-limited code now holds more credited uses than its limit: a late sale took a use before later ones, and
            // the latest by event time are over the limit now (the referrer's referrals with this code after it).
            entries = [.. entries, .. await RedecideAfterAsync(
                session,
                conversion.Program,
                (after, n) => session.ListReferralsAsync(conversion.Program, user, after, n, ct),
                point,
                told,
                ct,
                o => o.CreditedCode == code).ConfigureAwait(false)];
        }
        if (unit.MovedCustomersFirstReferral && decider.ChainDepth(conversion.Program) > 1)
        {
            // The customer's own referrer changed (a late first referral): the chains of the customer's referrals after it.
            entries = [.. entries, .. await RedecideAfterAsync(session, conversion.Program, (after, n) => session.ListReferralsAsync(conversion.Program, conversion.Customer, after, n, ct), point, told, ct).ConfigureAwait(false)];
        }
        return entries;
    }

    /// <summary>Decides again, in the session, the orders a list gives after <paramref name="from"/> (those <paramref name="which"/> keeps); returns the entries written.</summary>
    private async ValueTask<List<RewardEntry>> RedecideAfterAsync(
        IReferralStoreSession session,
        ProgramId program,
        Func<ListPosition?, int, ValueTask<IReadOnlyList<OrderRow>>> list,
        ListPosition from,
        List<(PendingNotification, object)> told,
        CancellationToken ct,
        Func<OrderRow, bool>? which = null)
    {
        const int Page = 100;
        var ids = new List<string>();
        for (ListPosition? after = from; ;)
        {
            var page = await list(after, Page).ConfigureAwait(false);
            ids.AddRange(page.Where(o => which?.Invoke(o) ?? true).Select(o => o.Conversion.OrderId));
            if (page.Count < Page)
            {
                break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
        var entries = new List<RewardEntry>();
        foreach (var id in ids)
        {
            if (await RedecideAsync(session, program, id, tell: true, ct).ConfigureAwait(false) is { } outcome)
            {
                entries.AddRange(outcome.Entries);
                told.AddRange(outcome.Notifications);
            }
        }
        return entries;
    }

    /// <summary>A conversion's capture of its presented code: the touch, and its "referral captured" notification if any notifier is registered.</summary>
    internal sealed record Captured(Touch Touch, PendingNotification? Note);

    private async ValueTask<Captured?> BuildCaptureAsync(SessionFacts facts, Conversion conversion, string presented, CodeResolution? resolved, CancellationToken ct)
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
        var built = await touches.BuildAsync(facts, request, conversion.OrderId, ct, resolved: resolved).ConfigureAwait(false);
        if (built.Touch is not { } touch)
        {
            LogPresentedCodeRejected(logger, conversion.Program.Value, built.Rejection);
            return null;
        }
        return new Captured(touch, CapturedNote(touch));
    }

    /// <summary>The "referral captured" notification of a touch, or <see langword="null"/> when no notifier is registered.</summary>
    private PendingNotification? CapturedNote(Touch touch) => notifiers.IsEmpty ? null : PendingNotification.Undelivered(
        NotificationDispatcher.NewId(), NotificationKind.ReferralCaptured, touch.Program, touch.RecordedAt, touch.RecordedAt + NotificationDispatcher.RedeliverAfter, touchId: touch.Id);

    /// <summary>The touch builder (code resolution, natural ids).</summary>
    public TouchBuilder Touches => touches;

    /// <summary>
    /// Records a built touch in the caller's session, once by its natural id, with its "referral captured" notification
    /// (added to <paramref name="told"/>, delivered after the commit).
    /// </summary>
    public async ValueTask<CaptureResult> StoreTouchAsync(IReferralStoreSession session, Touch touch, CodeResolutionOutcome? outcome, List<(PendingNotification, object)> told, CancellationToken ct)
    {
        var note = CapturedNote(touch);
        var written = await session.WriteAsync(new UnitOfWork { Touches = [touch], Notifications = note is null ? [] : [note] }, ct).ConfigureAwait(false);
        if (written.Status != WriteStatus.Written)
        {
            return new CaptureResult(CaptureOutcome.Duplicate, null, touch, outcome);
        }
        ReferralsTelemetry.TouchesCaptured.Add(1);
        if (note is not null)
        {
            told.Add((note, touch));
        }
        return new CaptureResult(CaptureOutcome.Captured, null, touch, outcome);
    }

    /// <summary>Records a built touch in a session of its own: begin, write, commit, notify.</summary>
    public async ValueTask<CaptureResult> CaptureAsync(Touch touch, CodeResolutionOutcome? outcome, CancellationToken ct)
    {
        var told = new List<(PendingNotification, object)>(1);
        CaptureResult result;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            result = await StoreTouchAsync(session, touch, outcome, told, ct).ConfigureAwait(false);
            if (result.Outcome == CaptureOutcome.Captured)
            {
                await session.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        await DeliverAsync(told, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Records a conversion not recorded before and decides it, in the caller's session (no presented code: a POS batch
    /// row's touch is recorded by the caller); false, writing nothing, when the order is recorded already.
    /// </summary>
    public async ValueTask<bool> RecordNewAsync(IReferralStoreSession session, Conversion conversion, List<(PendingNotification, object)> told, CancellationToken ct)
    {
        var facts = await PrefetchedFactsAsync(session, conversion, ct).ConfigureAwait(false);
        if (await facts.FindOrderAsync(conversion.Program, conversion.OrderId, ct).ConfigureAwait(false) is not null)
        {
            return false;
        }
        var outcome = await DecideAsync(session, conversion, existing: null, tell: true, ct, facts).ConfigureAwait(false);
        told.AddRange(outcome.Notifications);
        return true;
    }

    /// <summary>
    /// The facts of a new conversion's first decision attempt, with what it is about to read prefetched when the store
    /// answers reads in batches (<see cref="SessionFacts.PrefetchConversionAsync"/>).
    /// </summary>
    private async ValueTask<SessionFacts> PrefetchedFactsAsync(IReferralStoreSession session, Conversion conversion, CancellationToken ct, ParticipantId? likelyReferrer = null)
    {
        var facts = new SessionFacts(session, touches.Codes);
        if (session is not IBatchReader)
        {
            return facts;
        }
        await facts.PrefetchConversionAsync(
            conversion,
            assessor is null ? null : (referrer, customer) => assessor.ReferrerReads(
                conversion.Program, referrer, conversion.EventTime, FraudCase.Union(conversion.Fingerprints, customer?.Fingerprints)),
            ct,
            likelyReferrer).ConfigureAwait(false);
        return facts;
    }

    /// <summary>The notifications of a change about to be written; none when no notifier is registered.</summary>
    private IReadOnlyList<PendingNotification> Plan(ProgramId program, IReadOnlyList<RewardEntry> entries, AttributionResult? decided, Instant now) =>
        NotificationDispatcher.Plan(notifiers, program, entries, decided, now);

    /// <summary>
    /// 5 notify, after the commit: tells every notifier, removes what every notifier took and records the failed
    /// attempts (who was told, when to try again), so the lifecycle pass tells only the notifiers that failed.
    /// </summary>
    public ValueTask DeliverAsync(IReadOnlyList<(PendingNotification Notification, object Payload)> told, CancellationToken ct) =>
        outbox.DeliverAsync(told, ct);

    private static int CountEarned(IReadOnlyList<RewardEntry> entries)
    {
        int n = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Type == RewardEntryType.Earned)
            {
                n++;
            }
        }
        return n;
    }

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Refund {RefundId} of order {OrderId} in program {Program} was recorded before its order, in {RefundCurrency}, not the order's {OrderCurrency}: it is kept and refunds nothing")]
    private static partial void LogRefundInOtherCurrency(ILogger logger, string refundId, string orderId, string program, string refundCurrency, string orderCurrency);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "A code presented at a conversion in program {Program} was not recorded: {Rejection}")]
    private static partial void LogPresentedCodeRejected(ILogger logger, string program, CaptureRejection? rejection);
}
