using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// What a written change moved for the orders after it: <see cref="Period"/> <see langword="null"/> — the referral
/// numbers of <see cref="Participant"/>'s referrals after <see cref="From"/> moved (a referral counted or uncounted
/// there); otherwise the cap room of <see cref="Participant"/> in that period moved at <see cref="From"/>.
/// </summary>
internal readonly record struct CascadeTrigger(ParticipantId Participant, string? Period, AccountSummary.Point From);

/// <summary>
/// Re-decides, after a late event, the later rewards whose outcome it changes (issue 18: same events, same money). A
/// referral counted or uncounted before later ones moves their referral numbers by one, which changes a reward only where
/// the number crosses a tier's first referral or a milestone: only the later referrals up to the highest such number are
/// looked at. Cap room used or given back before later rewards of the same period changes them only if a cap ever bit in
/// that period (<see cref="CapUsageDocument.Capped"/>) or the period's total now passes a cap: only then are the period's
/// later orders of that beneficiary re-decided (its own referrals; for an upper level, the program's orders in the period
/// that pay it there). Each re-decided order whose rewards differ gets append-only entries — a reduction (<see
/// cref="RewardEntryType.Adjusted"/>, <see cref="RewardEntryType.Cancelled"/> to zero, or <see
/// cref="RewardEntryType.ClawedBack"/> once fulfilled) or a top-up, which is a reward of its own (id
/// <c>{order}#{revision}:{rule}</c>) with the same hold, so what was fulfilled stays as it was and the difference is
/// fulfilled on its own. Orders are re-decided in event-time order; what one changes can reach only later ones, so it
/// ends. Runs in the caller's session, one unit per order changed; not thread-safe.
/// </summary>
internal sealed class RewardCascade(
    IReferralStoreSession session,
    ProgramId program,
    RewardRuleSet rules,
    Func<IReadOnlyList<RewardEntry>, IReadOnlyList<PendingNotification>> plan,
    Instant now)
{
    private const int Page = 256;

    private readonly SortedSet<AccountSummary.Point> _queue = [];

    /// <summary>The entries the cascade wrote, in order.</summary>
    public List<RewardEntry> Entries { get; } = [];

    /// <summary>The notifications of those entries (written with them, to deliver after the commit).</summary>
    public List<PendingNotification> Notifications { get; } = [];

    /// <summary>
    /// The highest referral number at which a rule's outcome can differ from the number before it: a referral numbered
    /// above it is decided as every later one, so numbers moving past it change nothing.
    /// </summary>
    private int LastBoundary { get; } = rules.Rules.Max(r => r.Milestone is { } m ? m + 1 : r.Tiers.Max(t => t.From));

    /// <summary>Runs the cascade of <paramref name="triggers"/> to its end.</summary>
    public async ValueTask RunAsync(IEnumerable<CascadeTrigger> triggers, CancellationToken ct)
    {
        foreach (var t in triggers)
        {
            await EnqueueAsync(t, ct).ConfigureAwait(false);
        }
        while (_queue.Count > 0)
        {
            var next = _queue.Min;
            _queue.Remove(next);
            foreach (var t in await RedecideAsync(next.OrderId, RewardFold.RedecidedReason, null, ct).ConfigureAwait(false))
            {
                await EnqueueAsync(t, ct).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask EnqueueAsync(CascadeTrigger trigger, CancellationToken ct)
    {
        var from = new ListPosition(trigger.From.Time, trigger.From.OrderId);
        if (trigger.Period is null)
        {
            // Referral numbers moved by one after the position: only the referrals whose old or new number is at most
            // the last boundary can change.
            int before = await session.CountReferralsAsync(program, trigger.Participant, null, from, LastBoundary + 1, ct).ConfigureAwait(false);
            int look = LastBoundary + 1 - before;
            if (look <= 0)
            {
                return;
            }
            foreach (var order in await session.ListReferralsAsync(program, trigger.Participant, from, look, ct).ConfigureAwait(false))
            {
                Add(order);
            }
            return;
        }
        var usage = SummaryDocuments.UsageOrEmpty(await session.GetSummariesAsync(program, trigger.Participant, [CapUsageDocument.Key(trigger.Period)], ct).ConfigureAwait(false));
        if (usage.IsAfterAll(trigger.From))
        {
            return; // nothing comes after the position
        }
        var caps = rules.Caps.Where(c => string.Equals(rules.PeriodKey(c.Period, trigger.From.Time), trigger.Period, StringComparison.Ordinal)).ToList();
        bool over = caps.Any(c => (c.MaxCount is { } n && usage.Orders > n) || (c.MaxAmount is { } m && c.Currency is { } currency && usage.ValueIn(currency) > m));
        if (!usage.Capped && !over)
        {
            return; // every reward in the period fitted, and with the change they all still fit
        }
        var (_, end) = rules.PeriodOf(caps[0].Period, trigger.From.Time);
        // The beneficiary's own referrals in the period after the position, then (when the rules pay upper levels) the
        // program's orders in the period that pay the beneficiary at an upper level.
        await foreach (var order in AfterAsync((after, limit) => session.ListReferralsAsync(program, trigger.Participant, after, limit, ct), from, end).ConfigureAwait(false))
        {
            Add(order);
        }
        if (rules.MaxLevel < 2)
        {
            return;
        }
        await foreach (var order in AfterAsync((after, limit) => session.ListProgramOrdersAsync(program, after, limit, ct), from, end).ConfigureAwait(false))
        {
            var decision = OrderDocument.FromRow(order).Decision;
            if (decision is { Counted: true } && decision.Chain.Skip(1).Take(rules.MaxLevel - 1).Contains(trigger.Participant))
            {
                Add(order);
            }
        }
    }

    private static async IAsyncEnumerable<OrderRow> AfterAsync(Func<ListPosition?, int, ValueTask<IReadOnlyList<OrderRow>>> list, ListPosition from, Instant end)
    {
        ListPosition? after = from;
        while (true)
        {
            var page = await list(after, Page).ConfigureAwait(false);
            foreach (var order in page)
            {
                if (order.Conversion.EventTime >= end)
                {
                    yield break;
                }
                yield return order;
            }
            if (page.Count < Page)
            {
                yield break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
    }

    private void Add(OrderRow order) => _queue.Add(new AccountSummary.Point(order.Conversion.EventTime, order.Conversion.OrderId));

    /// <summary>
    /// Brings one order's rewards to what the rules give it now — its referral number and the cap room before it as
    /// written so far, less its refunds; nothing for an order no longer counted — with entries of
    /// <paramref name="reason"/> (ids: reward id + <paramref name="suffix"/>, by default <c>:redecided</c> + the decision's next revision), in a unit of its own. A refund uses it for
    /// the refunded order (so a reward a late event moved is refunded from what it earns now); the cascade for the orders
    /// after a late event. Returns what the change moved for the orders after it.
    /// </summary>
    public async ValueTask<IReadOnlyList<CascadeTrigger>> RedecideAsync(string orderId, string reason, string? suffix, CancellationToken ct)
    {
        var order = await session.FindOrderAsync(program, orderId, ct).ConfigureAwait(false);
        if (order is null)
        {
            return [];
        }
        var document = OrderDocument.FromRow(order);
        if (document.Decision is not { Referrer: { } referrer } decision)
        {
            return []; // not referred: no rewards
        }
        var a = document.Attribution;
        var at = new AccountSummary.Point(a.ConversionTime, a.OrderId);
        var rows = await session.ListOrderRewardsAsync(program, orderId, ct).ConfigureAwait(false);
        var states = rows.Select(RewardDocuments.FromRow).ToList();
        var unit = new UnitBuilder(new SessionFacts(session, null), program);

        int number = decision.Counted ? await NumberOfCountedAsync(unit, referrer, at, ct).ConfigureAwait(false) : decision.ReferralNumber;
        (int, IReadOnlyDictionary<string, decimal>) Own(ParticipantId beneficiary, string period)
        {
            var value = new Dictionary<string, decimal>(StringComparer.Ordinal);
            bool live = false;
            foreach (var s in states)
            {
                if (s.Beneficiary == beneficiary && UnitBuilder.IsLive(s))
                {
                    live = true;
                    value[s.Net.Currency] = value.GetValueOrDefault(s.Net.Currency) + s.Net.Amount;
                }
            }
            return (live ? 1 : 0, value);
        }
        int revision = decision.Revision + 1;
        RewardPlan? planned = null;
        if (decision.Counted)
        {
            var (usage, approximate) = await PlanInputs.UsageAsync(unit, rules, a, referrer, Own, exact: false, ct).ConfigureAwait(false);
            planned = RewardPlanner.Plan(rules, a, referrer, new RewardPlanInput(number, usage), revision, [], now);
            if (approximate && planned.Capped.Count > 0)
            {
                (usage, _) = await PlanInputs.UsageAsync(unit, rules, a, referrer, Own, exact: true, ct).ConfigureAwait(false);
                planned = RewardPlanner.Plan(rules, a, referrer, new RewardPlanInput(number, usage), revision, [], now);
            }
        }

        // Each rule's target (what it earns now, less the order's refunds) against what its rewards hold now.
        var amount = order.Conversion.Amount;
        var refunded = document.Refunded ?? Money.Zero(amount.Currency);
        bool full = refunded.Amount >= amount.Amount;
        var entries = new List<RewardEntry>();
        var ids = new List<string>(decision.RewardIds);
        foreach (var rule in rules.Rules)
        {
            var mine = states.Where(s => string.Equals(s.Terms.Rule, rule.Name, StringComparison.Ordinal)).ToList();
            if (mine.Any(s => s.Status == RewardStatus.Rejected))
            {
                continue; // a rejected reward stays rejected: its order is not counted again
            }
            var earned = planned?.Entries.FirstOrDefault(e => e.Type == RewardEntryType.Earned && string.Equals(e.Terms!.Rule, rule.Name, StringComparison.Ordinal));
            decimal target = earned is null || full ? 0
                : earned.Terms!.PercentOfOrder && refunded.Amount > 0 ? new Money(earned.Amount.Amount * (amount.Amount - refunded.Amount) / amount.Amount, earned.Amount.Currency).RoundToMinorUnit().Amount
                : earned.Amount.Amount;
            decimal current = mine.Sum(s => s.Net.Amount);
            if (target > current)
            {
                string rewardId = $"{orderId}#{revision}:{rule.Name}";
                ids.Add(rewardId);
                entries.Add(new RewardEntry
                {
                    EntryId = rewardId + ":earned",
                    RewardId = rewardId,
                    Program = program,
                    Beneficiary = earned!.Beneficiary,
                    OrderId = orderId,
                    Type = RewardEntryType.Earned,
                    Amount = new Money(target - current, earned.Amount.Currency),
                    RecordedAt = now,
                    Reason = reason,
                    Terms = earned.Terms!.HeldForReview && states.Any(s => s.Released) ? earned.Terms.Released() : earned.Terms,
                });
            }
            else if (target < current)
            {
                decimal cut = current - target;
                foreach (var s in mine.Where(s => s.Net.Amount > 0).OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id, StringComparer.Ordinal))
                {
                    var take = Math.Min(cut, s.Net.Amount);
                    cut -= take;
                    entries.Add(RewardPlanner.Reversal(
                        RewardFold.ToReward(s, []),
                        new Money(-take, s.Net.Currency),
                        take == s.Net.Amount ? RewardEntryType.Cancelled : RewardEntryType.Adjusted,
                        reason,
                        suffix ?? ":redecided" + revision,
                        now));
                    if (cut == 0)
                    {
                        break;
                    }
                }
            }
        }
        foreach (var (beneficiary, capIndex) in planned?.Capped ?? [])
        {
            // Where a cap now bites (the amounts unchanged or not), room given back before it later must reach this order.
            await unit.MarkCappedAsync(beneficiary, rules.PeriodKey(rules.Caps[capIndex].Period, a.ConversionTime), at, ct).ConfigureAwait(false);
        }
        if (entries.Count == 0)
        {
            if (unit.HasChangedSummaries)
            {
                await WriteAsync(unit, orderId, ct).ConfigureAwait(false);
            }
            return [];
        }

        unit.Append(entries);
        var (changes, unchanged) = UnitBuilder.Split(rows, states, entries);
        foreach (var e in entries)
        {
            if (e.Type == RewardEntryType.Earned)
            {
                changes.Add((null, 0, RewardFold.Start(e)));
            }
        }
        await unit.ApplyOrderAsync(rules, changes, unchanged, ct).ConfigureAwait(false);
        if (!decision.Counted)
        {
            // No longer counted (refunded in full): the rewards go, the decision stays as written.
            unit.Notifications.AddRange(plan(entries));
            await WriteAsync(unit, orderId, ct).ConfigureAwait(false);
            Entries.AddRange(entries);
            Notifications.AddRange(unit.Notifications);
            return unit.Triggers;
        }
        var redecided = new RewardDecision
        {
            Program = program,
            OrderId = orderId,
            Revision = revision,
            Referrer = referrer,
            Chain = decision.Chain,
            ReferralNumber = number,
            Counted = true,
            RewardIds = ids,
            Skipped = planned!.Decision.Skipped,
            DecidedAt = now,
        };
        unit.Orders.Add(new OrderRow(order.Conversion, order.Version + 1, (document with { Decision = redecided }).ToDocument(),
            order.CreditedReferrer, order.CreditedCode, order.CountedReferrer));
        var told = plan(entries);
        unit.Notifications.AddRange(told);
        await WriteAsync(unit, orderId, ct).ConfigureAwait(false);
        Entries.AddRange(entries);
        Notifications.AddRange(told);
        return unit.Triggers;
    }

    private async ValueTask WriteAsync(UnitBuilder unit, string orderId, CancellationToken ct)
    {
        var written = await session.WriteAsync(unit.Build(), ct).ConfigureAwait(false);
        if (written.Status != WriteStatus.Written)
        {
            throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"Re-deciding order {orderId} after a late event conflicted with another writer ({written}).");
        }
    }

    /// <summary>Adds the cascade's notifications, each with its entry, to what is told after the commit.</summary>
    public static void Pair(RewardCascade cascade, List<(PendingNotification, object)> told)
    {
        for (int i = 0; i < cascade.Notifications.Count; i++)
        {
            told.Add((cascade.Notifications[i], cascade.Entries[i]));
        }
    }

    /// <summary>The number of a counted referral: 1 + the referrer's counted referrals before it.</summary>
    private static async ValueTask<int> NumberOfCountedAsync(UnitBuilder unit, ParticipantId referrer, AccountSummary.Point at, CancellationToken ct)
    {
        var account = await unit.AccountAsync(referrer, ct).ConfigureAwait(false);
        return await PlanInputs.RankAsync(unit.Facts.Reader, unit.Program, referrer, account, at, selfCounted: true, ct).ConfigureAwait(false) + 1;
    }
}
