using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The unit of work of one decided conversion — recorded now, or decided again — computed completely in Core: the order
/// row with its plain index values (credited referrer and code, counted referrer), the reward decision with its ledger
/// entries and reward rows, and every summary the decision changes: the customer's first conversion and first referral,
/// the credited and counted referrals of the referrers who gain or lose the order, each beneficiary's totals and cap
/// usage per period (<see cref="UnitBuilder"/>). Not thread-safe: one per attempt.
/// </summary>
internal sealed class ConversionUnit(Conversion conversion, OrderRow? existing, AttributionResult result, SessionFacts facts)
{
    private const int CustomerOrdersPage = 100;

    private readonly UnitBuilder _unit = new(facts, conversion.Program);

    private ProgramId Program => conversion.Program;

    /// <summary>
    /// The order comes before the customer's first conversion or first credited referral as recorded so far (it arrived
    /// late): the customer's orders after it may now be repeats or credited otherwise, and decide again.
    /// </summary>
    public bool BeforeCustomersOrders { get; private set; }

    /// <summary>
    /// The customer's first credited referral moved (this order became it, or stopped being it) while the customer, as a
    /// referrer, has referrals after it: their chains change, and they decide again.
    /// </summary>
    public bool MovedCustomersFirstReferral { get; private set; }

    /// <summary>The unit's collector (notifications are added by the caller).</summary>
    public UnitBuilder Unit => _unit;

    /// <summary>What the unit decided about the order's rewards: the decision (unchanged, new or <see langword="null"/>) and the entries written.</summary>
    public readonly record struct Rewarded(RewardDecision? Decision, IReadOnlyList<RewardEntry> Entries);

    /// <summary>
    /// The new order's refunds recorded before it in another currency than its own, found by <see cref="ComputeAsync"/>:
    /// kept, refunding nothing (<see cref="RefundOutcome.RecordedBeforeOrder"/>); the pipeline reports them once written.
    /// </summary>
    public IReadOnlyList<Refund> RefundsInOtherCurrency { get; private set; } = [];

    /// <summary>Computes the unit's rows; <paramref name="rules"/> are the program's reward rules, if any.</summary>
    public async ValueTask<Rewarded> ComputeAsync(RewardRuleSet? rules, Instant now, CancellationToken ct)
    {
        var previous = existing is null ? null : OrderDocument.FromRow(existing);
        var oldCredited = previous is null ? null : CreditedReferrer(previous.Attribution);
        var newCredited = CreditedReferrer(result);
        var point = new AccountSummary.Point(conversion.EventTime, conversion.OrderId);
        // A new order's refunds recorded before it arrived apply as if they came after it: its refunded total, the
        // refund-abuse counts below and, through the planner, its rewards. A recorded order's total is in its document.
        var refunds = existing is null ? await facts.RefundsAsync(Program, conversion.OrderId, ct).ConfigureAwait(false) : null;
        var refundedTotal = refunds is null ? previous?.Refunded : refunds.Count == 0 ? null : Refund.Total(conversion.Amount, refunds);
        RefundsInOtherCurrency = refunds is { Count: > 0 } ? [.. refunds.Where(r => r.InOtherCurrency(conversion.Amount))] : [];

        await CustomerAsync(point, newCredited, ct).ConfigureAwait(false);
        if (oldCredited != newCredited)
        {
            // Who is credited with the order: the refund-abuse check's counts of credited orders per referrer, and of those
            // refunded in full, move with the order.
            int refunded = OrderDocument.IsRefundedInFull((existing?.Conversion ?? conversion).Amount, refundedTotal) ? 1 : 0;
            if (oldCredited is { } lost)
            {
                var account = await _unit.AccountAsync(lost, ct).ConfigureAwait(false);
                _unit.SetAccount(lost, account with { CreditedOrders = account.CreditedOrders - 1, RefundedOrders = account.RefundedOrders - refunded });
            }
            if (newCredited is { } gained)
            {
                var account = await _unit.AccountAsync(gained, ct).ConfigureAwait(false);
                _unit.SetAccount(gained, account with { CreditedOrders = account.CreditedOrders + 1, RefundedOrders = account.RefundedOrders + refunded });
            }
        }

        // The rewards change when the credit (referrer or chain) changed; the same credit keeps its decision.
        var decision = previous?.Decision;
        var entries = new List<RewardEntry>();
        bool unchanged = rules is null
            || (decision is null && newCredited is null)
            || (decision is not null && decision.Referrer == newCredited && (newCredited is null || decision.Chain.SequenceEqual(result.Chain)));
        if (!unchanged)
        {
            if (decision is not null)
            {
                entries.AddRange(await ReverseAsync(rules, decision, now, ct).ConfigureAwait(false));
            }
            int revision = (decision?.Revision ?? 0) + 1;
            if (newCredited is not null && previous is { Rejected: true })
            {
                // Rejected in review: decided again (a late event moved its chain or number), it still earns nothing.
                decision = new RewardDecision { Program = Program, OrderId = conversion.OrderId, Revision = revision, Referrer = newCredited, Chain = result.Chain, DecidedAt = now };
            }
            else if (newCredited is { } referrer)
            {
                // Read after the reversal: the referral number and cap usage leave out this order's earlier rewards. By
                // event time: the rank among the referrer's counted referrals, the room the rewards before it used.
                int number = await PlanInputs.NumberAsync(_unit, referrer, point, ct).ConfigureAwait(false);
                var (usage, approximate) = await PlanInputs.UsageAsync(_unit, rules!, result, referrer, own: null, exact: false, ct).ConfigureAwait(false);
                refunds ??= await facts.RefundsAsync(Program, conversion.OrderId, ct).ConfigureAwait(false);
                var plan = RewardPlanner.Plan(rules!, result, referrer, new RewardPlanInput(number, usage), revision, refunds, now);
                if (approximate && plan.Capped.Count > 0)
                {
                    // A late order that a cap reached, read against the period's totals: the room before it, exactly.
                    (usage, _) = await PlanInputs.UsageAsync(_unit, rules!, result, referrer, own: null, exact: true, ct).ConfigureAwait(false);
                    plan = RewardPlanner.Plan(rules!, result, referrer, new RewardPlanInput(number, usage), revision, refunds, now);
                }
                _unit.Append(plan.Entries);
                entries.AddRange(plan.Entries);
                await _unit.ApplyOrderAsync(rules, [.. UnitBuilder.Fold(plan.Entries).Select(s => ((RewardFold.State?)null, 0L, s))], [], ct).ConfigureAwait(false);
                foreach (var (beneficiary, capIndex) in plan.Capped)
                {
                    await _unit.MarkCappedAsync(beneficiary, rules!.PeriodKey(rules.Caps[capIndex].Period, result.ConversionTime), point, ct).ConfigureAwait(false);
                }
                decision = plan.Decision;
                if (decision.Counted)
                {
                    var account = await _unit.AccountAsync(referrer, ct).ConfigureAwait(false);
                    if (account.LastReferral is { } later && later.CompareTo(point) > 0)
                    {
                        _unit.AddTrigger(new CascadeTrigger(referrer, null, point)); // the referrals after it move up one
                    }
                    _unit.SetAccount(referrer, account with
                    {
                        CountedReferrals = account.CountedReferrals + 1,
                        LastReferral = account.LastReferral is { } last && last.CompareTo(point) > 0 ? last : point,
                    });
                }
            }
            else
            {
                decision = new RewardDecision { Program = Program, OrderId = conversion.OrderId, Revision = revision, DecidedAt = now };
            }
        }

        _unit.Orders.Add(new OrderRow(
            existing?.Conversion ?? conversion,
            (existing?.Version ?? 0) + 1,
            (new OrderDocument(result, decision, refundedTotal) { Rejected = previous?.Rejected ?? false }).ToDocument(),
            newCredited,
            newCredited is null ? null : result.Code,
            decision is { Counted: true } ? decision.Referrer : null));
        return new Rewarded(decision, entries);
    }

    private static ParticipantId? CreditedReferrer(AttributionResult a) => a is { IsAttributed: true, IsRepeat: false } ? a.Referrer : null;

    /// <summary>The customer's first conversion (new-customer check) and first credited referral (sticky referees, chains, rings).</summary>
    private async ValueTask CustomerAsync(AccountSummary.Point point, ParticipantId? credited, CancellationToken ct)
    {
        var customer = await _unit.AccountAsync(conversion.Customer, ct).ConfigureAwait(false);
        BeforeCustomersOrders = (customer.FirstConversion is { } fc && point.CompareTo(fc) < 0) || (customer.FirstReferral is { } fr && point.CompareTo(fr) < 0);
        var next = customer;
        if (customer.FirstConversion is not { } firstConversion || point.CompareTo(firstConversion) < 0)
        {
            next = next with { FirstConversion = point };
        }
        bool wasFirst = customer.FirstReferral is { } f && string.Equals(f.OrderId, conversion.OrderId, StringComparison.Ordinal);
        if (credited is { } referrer)
        {
            if (customer.FirstReferral is not { } firstReferral || point.CompareTo(firstReferral) < 0 || wasFirst)
            {
                next = next with { FirstReferral = point, FirstReferrer = referrer };
            }
        }
        else if (wasFirst)
        {
            // The customer's first referral lost its credit: the next is the earliest other credited order of the
            // customer (a customer's own few orders, paged).
            next = next with { FirstReferral = null, FirstReferrer = null };
            ListPosition? after = null;
            while (true)
            {
                var page = await facts.Reader.ListCustomerOrdersAsync(Program, conversion.Customer, after, CustomerOrdersPage, ct).ConfigureAwait(false);
                var found = page.FirstOrDefault(o => o.CreditedReferrer is not null && !string.Equals(o.Conversion.OrderId, conversion.OrderId, StringComparison.Ordinal));
                if (found is not null)
                {
                    next = next with { FirstReferral = new AccountSummary.Point(found.Conversion.EventTime, found.Conversion.OrderId), FirstReferrer = found.CreditedReferrer };
                    break;
                }
                if (page.Count < CustomerOrdersPage)
                {
                    break;
                }
                after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
            }
        }
        if (!next.Equals(customer))
        {
            _unit.SetAccount(conversion.Customer, next);
        }
        MovedCustomersFirstReferral = (next.FirstReferral != customer.FirstReferral || next.FirstReferrer != customer.FirstReferrer)
            && customer.LastReferral is { } referred && referred.CompareTo(point) > 0; // and the customer referred others after it
    }

    /// <summary>Reverses what is left of the order's rewards (a re-attribution) and takes the referral back from its referrer.</summary>
    private async ValueTask<List<RewardEntry>> ReverseAsync(RewardRuleSet? rules, RewardDecision decision, Instant now, CancellationToken ct)
    {
        var rows = await facts.Reader.ListOrderRewardsAsync(Program, conversion.OrderId, ct).ConfigureAwait(false);
        var reversals = new List<RewardEntry>();
        var changes = new List<(RewardFold.State?, long, RewardFold.State)>();
        var unchanged = new List<RewardFold.State>();
        foreach (var row in rows)
        {
            var state = RewardDocuments.FromRow(row);
            if (state.Net.Amount > 0)
            {
                var reversal = RewardPlanner.Reversal(RewardFold.ToReward(state, []), -state.Net, RewardEntryType.Cancelled, "re-attributed", ":reattributed" + decision.Revision, now);
                reversals.Add(reversal);
                changes.Add((state, row.Version, RewardFold.Apply(state, reversal)));
            }
            else
            {
                unchanged.Add(state);
            }
        }
        _unit.Append(reversals);
        await _unit.ApplyOrderAsync(rules, changes, unchanged, ct).ConfigureAwait(false);
        if (decision is { Counted: true, Referrer: { } counted })
        {
            var account = await _unit.AccountAsync(counted, ct).ConfigureAwait(false);
            _unit.SetAccount(counted, account with { CountedReferrals = account.CountedReferrals - 1 });
            var point = new AccountSummary.Point(conversion.EventTime, conversion.OrderId);
            if (account.LastReferral is { } later && later.CompareTo(point) > 0)
            {
                _unit.AddTrigger(new CascadeTrigger(counted, null, point)); // the referrals after it move down one
            }
        }
        return reversals;
    }
}
