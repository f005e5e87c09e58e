using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The reward lifecycle on the narrow store contract: status changes, refunds, the reward pass on the due index, the
/// review queue's reads and the referrer's standing from the account summary. Every write is one session with one unit
/// computed here (<see cref="UnitBuilder"/>), committed, then told to the notifiers. Thread-safe.
/// </summary>
/// <remarks>
/// The reward pass probes the due index (<see cref="IReferralStoreReader.ListDueRewardsAsync"/>) per program: rewards
/// whose hold ended, rewards waiting for the fulfiller, and — when the program's review deadline acts — rewards held for
/// review past it. An idle pass reads a few index entries, whatever the number of open rewards.
/// </remarks>
internal sealed partial class ContractRewards(
    IReferralStore store,
    IReadOnlyDictionary<ProgramId, RewardRuleSet> rules,
    IReadOnlyDictionary<ProgramId, FraudPolicy> fraud,
    IRewardFulfiller? fulfiller,
    NotificationDispatcher outbox,
    IClock clock,
    ILogger logger)
{
    private const int MaxAttempts = 16;
    private const int Page = 100;

    public IReferralStore Store => store;

    /// <summary>A reward with its entries (oldest first), or <see langword="null"/>.</summary>
    public async ValueTask<Reward?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken ct)
    {
        var row = await store.FindRewardAsync(program, rewardId, ct).ConfigureAwait(false);
        return row is null ? null : (await ViewAsync(store, row, ct).ConfigureAwait(false)).Reward;
    }

    /// <summary>The rewards of an order in the order they were earned.</summary>
    public async ValueTask<IReadOnlyList<Reward>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken ct)
    {
        var rows = await store.ListOrderRewardsAsync(program, orderId, ct).ConfigureAwait(false);
        var views = new List<(Reward Reward, long Sequence)>(rows.Count);
        foreach (var row in rows)
        {
            views.Add(await ViewAsync(store, row, ct).ConfigureAwait(false));
        }
        return [.. views.OrderBy(v => v.Sequence).Select(v => v.Reward)];
    }

    private static async ValueTask<(Reward Reward, long Sequence)> ViewAsync(IReferralStoreReader reader, RewardRow row, CancellationToken ct)
    {
        var rows = await reader.ListEntriesAsync(row.Program, row.RewardId, ct).ConfigureAwait(false);
        var entries = new RewardEntry[rows.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = RewardDocuments.FromRow(rows[i]);
        }
        return (RewardFold.ToReward(RewardDocuments.FromRow(row), entries), rows.Count == 0 ? 0 : rows[0].Sequence);
    }

    /// <summary>The order's decided attribution, or <see langword="null"/>.</summary>
    public async ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken ct) =>
        await store.FindOrderAsync(program, orderId, ct).ConfigureAwait(false) is { } order ? OrderDocument.FromRow(order).Attribution : null;

    /// <summary>The order's reward decision, or <see langword="null"/>.</summary>
    public async ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken ct)
    {
        if (await store.FindOrderAsync(program, orderId, ct).ConfigureAwait(false) is not { } order)
        {
            return null;
        }
        var decision = OrderDocument.FromRow(order).Decision;
        if (decision is { Counted: true, Referrer: { } referrer })
        {
            // The number is the referral's rank by event time as it stands now: a late referral before it moved it, and
            // the stored decision keeps the number it was decided with.
            var account = await SummaryDocuments.ReadAccountAsync(store, program, referrer, ct).ConfigureAwait(false);
            int before = await PlanInputs.RankAsync(store, program, referrer, account, new AccountSummary.Point(order.Conversion.EventTime, orderId), selfCounted: true, ct).ConfigureAwait(false);
            decision = decision.Numbered(before + 1);
        }
        return decision;
    }

    /// <summary>A referrer's standing from the account summary alone: one read, whatever the history.</summary>
    public async ValueTask<ReferrerSummary> GetReferrerSummaryAsync(ProgramId program, ParticipantId referrer, CancellationToken ct)
    {
        var account = await SummaryDocuments.ReadAccountAsync(store, program, referrer, ct).ConfigureAwait(false);
        return new ReferrerSummary
        {
            Program = program,
            Referrer = referrer,
            SuccessfulReferrals = account.CountedReferrals,
            Tier = rules.TryGetValue(program, out var set) ? set.Progress(account.CountedReferrals) : null,
            Pending = account.TotalsOf(RewardStatus.Pending, net: true),
            Approved = account.TotalsOf(RewardStatus.Approved, net: true),
            Fulfilled = account.TotalsOf(RewardStatus.Fulfilled, net: true),
            Rejected = account.TotalsOf(RewardStatus.Rejected, net: false),
            Revoked = account.TotalsOf(RewardStatus.Revoked, net: false),
            Balance = account.Balance,
        };
    }

    /// <summary>One page of a participant's rewards (as referrer, upline or referee) by conversion time and reward id, after <paramref name="after"/>.</summary>
    public async ValueTask<IReadOnlyList<Reward>> ListParticipantRewardsAsync(ProgramId program, ParticipantId participant, Reward? after, int limit, CancellationToken ct)
    {
        var page = await store.ListBeneficiaryRewardsAsync(program, participant, after is null ? null : new ListPosition(after.Terms.ConversionTime, after.Id), limit, ct).ConfigureAwait(false);
        var rewards = new List<Reward>(page.Count);
        foreach (var row in page)
        {
            rewards.Add((await ViewAsync(store, row, ct).ConfigureAwait(false)).Reward);
        }
        return rewards;
    }

    /// <summary>The rewards held for review (the due index's review entries), oldest first.</summary>
    public async ValueTask<List<Reward>> ListUnderReviewAsync(ProgramId program, CancellationToken ct)
    {
        var held = new List<Reward>();
        await foreach (var row in DueAsync(program, RewardDue.Review, Instant.MaxValue, ct).ConfigureAwait(false))
        {
            held.Add((await ViewAsync(store, row, ct).ConfigureAwait(false)).Reward);
        }
        return held;
    }

    private async IAsyncEnumerable<RewardRow> DueAsync(ProgramId program, RewardDue due, Instant until, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        ListPosition? after = null;
        while (true)
        {
            var page = await store.ListDueRewardsAsync(program, due, until, after, Page, ct).ConfigureAwait(false);
            foreach (var row in page)
            {
                yield return row;
            }
            if (page.Count < Page)
            {
                yield break;
            }
            after = new ListPosition(page[^1].DueAt!.Value, page[^1].RewardId);
        }
    }

    /// <summary>One pass of the lifecycle on the due index (see the remarks); the notifications are redelivered first.</summary>
    public async ValueTask<(int Approved, int Fulfilled, int Failed)> ProcessDueAsync(Instant now, CancellationToken ct)
    {
        int approved = 0, fulfilled = 0, failed = 0;
        foreach (var program in rules.Keys)
        {
            var policy = fraud.GetValueOrDefault(program) ?? FraudPolicy.Default;
            if (policy.ReviewDeadline is { } deadline && policy.AfterReviewDeadline != ReviewDeadlineAction.KeepHolding)
            {
                // Nothing held for review pays out silently: only the program's deadline rule may act without a person.
                var type = policy.AfterReviewDeadline == ReviewDeadlineAction.Release ? RewardEntryType.Released : RewardEntryType.Rejected;
                await foreach (var row in DueAsync(program, RewardDue.Review, now - deadline, ct).ConfigureAwait(false))
                {
                    _ = await AppendStatusAsync(program, row.RewardId, type, "review deadline", $"not reviewed within {deadline}", null, ct).ConfigureAwait(false);
                }
            }
            await foreach (var row in DueAsync(program, RewardDue.HoldEnds, now, ct).ConfigureAwait(false))
            {
                if (await AppendStatusAsync(program, row.RewardId, RewardEntryType.Approved, null, "hold ended", null, ct).ConfigureAwait(false) is { Status: RewardStatus.Approved })
                {
                    approved++;
                }
            }
            if (fulfiller is null)
            {
                continue;
            }
            await foreach (var row in DueAsync(program, RewardDue.Fulfilment, now, ct).ConfigureAwait(false))
            {
                var reward = (await ViewAsync(store, row, ct).ConfigureAwait(false)).Reward;
                string? reference;
                try
                {
                    reference = await fulfiller.FulfilAsync(reward, ct).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // a failing fulfiller leaves the reward approved for the next pass
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    failed++;
                    ReferralsTelemetry.FulfilmentFailures.Add(1);
                    LogFulfilmentFailed(logger, ex, reward.Id);
                    continue;
                }
                if (await AppendStatusAsync(program, reward.Id, RewardEntryType.Fulfilled, null, null, reference, ct, force: true).ConfigureAwait(false) is not null)
                {
                    fulfilled++;
                    ReferralsTelemetry.RewardsFulfilled.Add(1);
                }
            }
        }
        return (approved, fulfilled, failed);
    }

    /// <summary>
    /// Appends a status entry to a reward in a session of its own, re-reading it on conflicts. <paramref name="force"/>:
    /// write a fulfilment even if the reward changed meanwhile (what the fulfiller delivered must be recorded; a reversal
    /// written since stands as a claw-back).
    /// </summary>
    /// <returns>The reward after the change, or <see langword="null"/> when it does not exist, the change is not allowed, or another pass wrote it.</returns>
    public async ValueTask<Reward?> AppendStatusAsync(ProgramId program, string rewardId, RewardEntryType type, string? actor, string? reason, string? reference, CancellationToken ct, bool force = false)
    {
        for (int attempt = 1; ; attempt++)
        {
            Reward? changed = null;
            RewardCascade? cascaded = null;
            RewardEntry? entry = null;
            IReadOnlyList<PendingNotification> planned = [];
            WriteOutcome outcome;
            await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
            {
                if (await session.FindRewardAsync(program, rewardId, ct).ConfigureAwait(false) is not { } row)
                {
                    return null;
                }
                var state = RewardDocuments.FromRow(row);
                bool allowed = type switch
                {
                    RewardEntryType.Approved => state.Status == RewardStatus.Pending,
                    RewardEntryType.Released => state.UnderReview,
                    RewardEntryType.Rejected => state.Status is RewardStatus.Pending or RewardStatus.Approved,
                    _ => force || state.Status == RewardStatus.Approved,
                };
                if (!allowed)
                {
                    return null;
                }
                var now = clock.GetCurrentInstant();
                entry = new RewardEntry
                {
                    EntryId = rewardId + ":" + type.ToString().ToLowerInvariant(),
                    RewardId = rewardId,
                    Program = program,
                    Beneficiary = state.Beneficiary,
                    OrderId = state.OrderId,
                    Type = type,
                    Amount = type == RewardEntryType.Rejected ? -state.Net : Money.Zero(state.Net.Currency),
                    RecordedAt = now,
                    Actor = actor,
                    Reason = reason,
                    Reference = reference,
                };
                var after = RewardFold.Apply(state, entry);
                var unit = new UnitBuilder(new SessionFacts(session, null), program);
                unit.Append([entry]);
                await unit.ApplyOrderAsync(rules.GetValueOrDefault(program), [(state, row.Version, after)], await OthersAsync(session, row, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                if (type == RewardEntryType.Rejected && state.Terms is { Role: RewardRole.Referrer, Level: 1 })
                {
                    await UncountAsync(session, unit, program, state.OrderId, now, ct).ConfigureAwait(false);
                }
                planned = outbox.Plan(program, [entry], null, now);
                unit.Notifications.AddRange(planned);
                outcome = await session.WriteAsync(unit.Build(), ct).ConfigureAwait(false);
                if (outcome.Status == WriteStatus.Written)
                {
                    var entries = await session.ListEntriesAsync(program, rewardId, ct).ConfigureAwait(false);
                    changed = RewardFold.ToReward(after, [.. entries.Select(RewardDocuments.FromRow)]);
                    cascaded = await CascadeAsync(session, program, unit, now, ct).ConfigureAwait(false);
                    await session.CommitAsync(ct).ConfigureAwait(false);
                }
            }
            if (changed is not null)
            {
                await outbox.DeliverAsync([entry!], null, planned, ct).ConfigureAwait(false);
                await DeliverCascadeAsync(cascaded, ct).ConfigureAwait(false);
                return changed;
            }
            if (outcome.Status == WriteStatus.Duplicate)
            {
                return null; // written by another pass
            }
            CheckAttempts(attempt, $"reward {rewardId}");
        }
    }

    /// <summary>
    /// A rejected referral gives its referral number back (issue 18): the order is no longer counted for its referrer, and
    /// the referrals after it move down one (see <see cref="RewardCascade"/>).
    /// </summary>
    private static async ValueTask UncountAsync(IReferralStoreSession session, UnitBuilder unit, ProgramId program, string orderId, Instant now, CancellationToken ct)
    {
        if (await session.FindOrderAsync(program, orderId, ct).ConfigureAwait(false) is not { } order)
        {
            return;
        }
        var document = OrderDocument.FromRow(order);
        if (document.Decision is not { Counted: true, Referrer: { } referrer } decision)
        {
            if (!document.Rejected)
            {
                unit.Orders.Add(new OrderRow(order.Conversion, order.Version + 1, (document with { Rejected = true }).ToDocument(),
                    order.CreditedReferrer, order.CreditedCode, order.CountedReferrer));
            }
            return;
        }
        var account = await unit.AccountAsync(referrer, ct).ConfigureAwait(false);
        unit.SetAccount(referrer, account with { CountedReferrals = account.CountedReferrals - 1 });
        var point = new AccountSummary.Point(order.Conversion.EventTime, orderId);
        if (account.LastReferral is { } later && later.CompareTo(point) > 0)
        {
            unit.AddTrigger(new CascadeTrigger(referrer, null, point));
        }
        unit.Orders.Add(new OrderRow(order.Conversion, order.Version + 1, (document with { Decision = decision.Uncounted(now), Rejected = true }).ToDocument(),
            order.CreditedReferrer, order.CreditedCode, null));
    }

    /// <summary>Runs, in the session, the re-decision of the later rewards a written unit changed (a late event); <see langword="null"/> when it changed none.</summary>
    private async ValueTask<RewardCascade?> CascadeAsync(IReferralStoreSession session, ProgramId program, UnitBuilder unit, Instant now, CancellationToken ct)
    {
        if (unit.Triggers.Count == 0 || rules.GetValueOrDefault(program) is not { } programRules)
        {
            return null;
        }
        var cascade = new RewardCascade(session, program, programRules, e => outbox.Plan(program, e, null, now), now);
        await cascade.RunAsync(unit.Triggers, ct).ConfigureAwait(false);
        return cascade;
    }

    private async ValueTask DeliverCascadeAsync(RewardCascade? cascade, CancellationToken ct)
    {
        if (cascade is { Entries.Count: > 0 })
        {
            var told = new List<(PendingNotification, object)>(cascade.Notifications.Count);
            RewardCascade.Pair(cascade, told);
            await outbox.DeliverAsync(told, ct).ConfigureAwait(false);
        }
    }

    private static async ValueTask<List<RewardFold.State>> OthersAsync(IReferralStoreReader reader, RewardRow row, CancellationToken ct)
    {
        var others = new List<RewardFold.State>();
        foreach (var other in await reader.ListOrderRewardsAsync(row.Program, row.OrderId, ct).ConfigureAwait(false))
        {
            if (!string.Equals(other.RewardId, row.RewardId, StringComparison.Ordinal))
            {
                others.Add(RewardDocuments.FromRow(other));
            }
        }
        return others;
    }

    /// <summary>
    /// Releases (or rejects) every reward of an order held for review; returns the rewards changed. A rejection is of the
    /// referral, not only of the rewards it holds now: an order sent to review and rejected is no longer counted, whether
    /// or not a cap had left its referrer a reward to reject (so the referrals after it number the same in every arrival
    /// order), and it earns nothing when decided again.
    /// </summary>
    public async ValueTask<IReadOnlyList<Reward>> DecideReviewAsync(ProgramId program, string orderId, bool release, string actor, string reason, CancellationToken ct)
    {
        var changed = new List<Reward>();
        foreach (var reward in await ListOrderRewardsAsync(program, orderId, ct).ConfigureAwait(false))
        {
            if (reward.UnderReview
                && await AppendStatusAsync(program, reward.Id, release ? RewardEntryType.Released : RewardEntryType.Rejected, actor, reason, null, ct).ConfigureAwait(false) is { } after)
            {
                changed.Add(after);
            }
        }
        if (!release)
        {
            await RejectReferralAsync(program, orderId, ct).ConfigureAwait(false);
        }
        return changed;
    }

    /// <summary>Marks an order sent to review as rejected and no longer counted, in a session of its own (a no-op when it is already).</summary>
    private async ValueTask RejectReferralAsync(ProgramId program, string orderId, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            RewardCascade? cascaded = null;
            await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
            {
                if (await session.FindOrderAsync(program, orderId, ct).ConfigureAwait(false) is not { } order)
                {
                    return;
                }
                var document = OrderDocument.FromRow(order);
                if (document.Rejected || document.Attribution.Fraud is not { Verdict: FraudVerdict.Review })
                {
                    return;
                }
                var now = clock.GetCurrentInstant();
                var unit = new UnitBuilder(new SessionFacts(session, null), program);
                await UncountAsync(session, unit, program, orderId, now, ct).ConfigureAwait(false);
                var outcome = await session.WriteAsync(unit.Build(), ct).ConfigureAwait(false);
                if (outcome.Status == WriteStatus.Written)
                {
                    cascaded = await CascadeAsync(session, program, unit, now, ct).ConfigureAwait(false);
                    await session.CommitAsync(ct).ConfigureAwait(false);
                    await DeliverCascadeAsync(cascaded, ct).ConfigureAwait(false);
                    return;
                }
            }
            CheckAttempts(attempt, $"the review of order {orderId}");
        }
    }

    /// <summary>
    /// Records a refund and reverses the order's rewards (a full refund or charge-back cancels or claws back, a partial one reduces percentage rewards):
    /// the refund, the reversals, the rewards' rows and summaries, the order's refunded total and, once refunded in
    /// full, its decision no longer counted — one unit. A refund of an order not recorded yet is kept alone
    /// (<see cref="RefundOutcome.RecordedBeforeOrder"/>): the order's conversion unit applies it (<see cref="ConversionUnit"/>).
    /// Duplicates by refund id are found before the currency is checked, so a refund recorded before its order stays a
    /// duplicate whatever the order's currency turns out to be.
    /// </summary>
    public async ValueTask<RefundResult> RecordRefundAsync(Refund refund, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            RefundResult? result = null;
            RewardCascade? cascaded = null;
            IReadOnlyList<RewardEntry> reversals = [];
            IReadOnlyList<PendingNotification> planned = [];
            await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
            {
                var order = await session.FindOrderAsync(refund.Program, refund.OrderId, ct).ConfigureAwait(false);
                var earlier = await session.ListRefundsAsync(refund.Program, refund.OrderId, ct).ConfigureAwait(false);
                if (earlier.Any(x => x.RefundId == refund.RefundId))
                {
                    return new RefundResult(RefundOutcome.Duplicate, [], order is null ? null : Refund.Total(order.Conversion.Amount, earlier));
                }
                if (order is null)
                {
                    // Before its order: kept, nothing else to change; the order's conversion unit applies it when it arrives.
                    var pending = new UnitOfWork { Refunds = [refund] };
                    var stored = await session.WriteAsync(pending, ct).ConfigureAwait(false);
                    if (stored.Status == WriteStatus.Written)
                    {
                        await session.CommitAsync(ct).ConfigureAwait(false);
                        return new RefundResult(RefundOutcome.RecordedBeforeOrder, [], null);
                    }
                    if (stored is { Status: WriteStatus.Duplicate, Kind: RowKind.Refund })
                    {
                        return new RefundResult(RefundOutcome.Duplicate, [], null); // the refund id is another order's
                    }
                    CheckAttempts(attempt, $"refund {refund.RefundId}");
                    continue;
                }
                var amount = order.Conversion.Amount;
                if (refund.InOtherCurrency(amount))
                {
                    return new RefundResult(RefundOutcome.CurrencyMismatch, [], null);
                }
                var before = Refund.Total(amount, earlier);
                var total = Refund.Total(amount, [.. earlier, refund]);
                var now = clock.GetCurrentInstant();
                var rows = await session.ListOrderRewardsAsync(refund.Program, refund.OrderId, ct).ConfigureAwait(false);
                var states = rows.Select(RewardDocuments.FromRow).ToList();
                var programRules = rules.GetValueOrDefault(refund.Program);
                // With the program's rules, the rewards are brought to what the rules give the order now less its refunds,
                // once the refund is written (RewardCascade.RedecideAsync): a reward a late event moved to another tier is
                // refunded from what it earns now. Without rules (they were removed), from what each reward earned.
                reversals = programRules is not null ? [] : RewardPlanner.RefundReversals(
                    [.. states.Select(s => RewardFold.ToReward(s, []))], amount, total, ":refund:" + refund.RefundId, "refund " + refund.RefundId, now);

                var unit = new UnitBuilder(new SessionFacts(session, null), refund.Program);
                unit.Refunds.Add(refund);
                unit.Append(reversals);
                var (changes, unchanged) = UnitBuilder.Split(rows, states, reversals);
                await unit.ApplyOrderAsync(rules.GetValueOrDefault(refund.Program), changes, unchanged, ct).ConfigureAwait(false);

                var document = OrderDocument.FromRow(order);
                var decision = document.Decision;
                bool full = total.Amount >= amount.Amount;
                var countedReferrer = order.CountedReferrer;
                if (decision is { Counted: true } && full)
                {
                    decision = decision.Uncounted(now);
                    countedReferrer = null;
                    if (decision.Referrer is { } counted)
                    {
                        var account = await unit.AccountAsync(counted, ct).ConfigureAwait(false);
                        unit.SetAccount(counted, account with { CountedReferrals = account.CountedReferrals - 1 });
                        var point = new AccountSummary.Point(order.Conversion.EventTime, refund.OrderId);
                        if (account.LastReferral is { } later && later.CompareTo(point) > 0)
                        {
                            unit.AddTrigger(new CascadeTrigger(counted, null, point)); // the referrals after it move down one
                        }
                    }
                }
                if (OrderDocument.IsRefundedInFull(amount, total) && !OrderDocument.IsRefundedInFull(amount, earlier.Count == 0 ? null : before)
                    && order.CreditedReferrer is { } creditedReferrer)
                {
                    // A credited order refunded in full counts against its referrer (the refund-abuse check).
                    var account = await unit.AccountAsync(creditedReferrer, ct).ConfigureAwait(false);
                    unit.SetAccount(creditedReferrer, account with { RefundedOrders = account.RefundedOrders + 1 });
                }
                unit.Orders.Add(new OrderRow(order.Conversion, order.Version + 1, (document with { Decision = decision, Refunded = total }).ToDocument(),
                    order.CreditedReferrer, order.CreditedCode, countedReferrer));
                planned = outbox.Plan(refund.Program, reversals, null, now);
                unit.Notifications.AddRange(planned);
                var outcome = await session.WriteAsync(unit.Build(), ct).ConfigureAwait(false);
                if (outcome.Status == WriteStatus.Written)
                {
                    if (programRules is not null)
                    {
                        cascaded = new RewardCascade(session, refund.Program, programRules, e => outbox.Plan(refund.Program, e, null, now), now);
                        var moved = await cascaded.RedecideAsync(refund.OrderId, "refund " + refund.RefundId, ":refund:" + refund.RefundId, ct).ConfigureAwait(false);
                        await cascaded.RunAsync([.. unit.Triggers, .. moved], ct).ConfigureAwait(false);
                        reversals = [.. cascaded.Entries.Where(e => string.Equals(e.OrderId, refund.OrderId, StringComparison.Ordinal))];
                    }
                    else
                    {
                        cascaded = await CascadeAsync(session, refund.Program, unit, now, ct).ConfigureAwait(false);
                    }
                    await session.CommitAsync(ct).ConfigureAwait(false);
                    result = new RefundResult(RefundOutcome.Recorded, reversals, total);
                }
                else if (outcome is { Status: WriteStatus.Duplicate, Kind: RowKind.Refund })
                {
                    // The refund id is taken by another order's refund (refund ids are unique per program): recorded before.
                    return new RefundResult(RefundOutcome.Duplicate, [], before);
                }
            }
            if (result is not null)
            {
                await outbox.DeliverAsync(reversals, null, planned, ct).ConfigureAwait(false);
                await DeliverCascadeAsync(cascaded, ct).ConfigureAwait(false);
                return result;
            }
            CheckAttempts(attempt, $"refund {refund.RefundId}");
        }
    }

    private static void CheckAttempts(int attempt, string what)
    {
        if (attempt >= MaxAttempts)
        {
            throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"Gave up writing {what} after {attempt} conflicting attempts.");
        }
    }

    // The same event as the old path's (stable id): one of the two paths runs in a process.
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Fulfilling reward {RewardId} failed; it stays approved and is retried on the next pass")]
    private static partial void LogFulfilmentFailed(ILogger logger, Exception exception, string rewardId);
}
