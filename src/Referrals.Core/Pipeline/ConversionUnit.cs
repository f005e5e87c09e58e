using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Storage.Documents;

namespace Referrals.Pipeline;

/// <summary>
/// The unit of work of one newly decided conversion, computed completely in Core: the order row with its plain index
/// values (credited referrer and code, counted referrer), the ledger entries and reward rows, and every summary the
/// conversion changes — the customer's first conversion and first referral, the referrer's credited and counted
/// referrals, each beneficiary's totals and cap usage per period (<see cref="UnitBuilder"/>). Not thread-safe: one per attempt.
/// </summary>
internal sealed class ConversionUnit(Conversion conversion, AttributionResult result, SessionFacts facts)
{
    private readonly UnitBuilder _unit = new(facts, conversion.Program);

    private ProgramId Program => conversion.Program;

    /// <summary>
    /// The planner's inputs from summaries: the referral number is the referrer's counted referrals + 1, and each level's
    /// cap usage is its cap-usage row of the conversion's period. O(levels × caps) rows, whatever the history.
    /// </summary>
    public async ValueTask<RewardPlanInput> ReadPlanInputAsync(RewardRuleSet rules, ParticipantId referrer, CancellationToken ct)
    {
        var account = await facts.AccountAsync(Program, referrer, ct).ConfigureAwait(false);
        int levels = RewardPlanner.Levels(rules, result);
        var usage = new CapUsage[rules.Caps.Length == 0 ? 0 : levels * rules.Caps.Length];
        for (int level = 1; level <= levels && rules.Caps.Length > 0; level++)
        {
            var beneficiary = level == 1 ? referrer : result.Chain[level - 1];
            for (int i = 0; i < rules.Caps.Length; i++)
            {
                var cap = rules.Caps[i];
                var row = await facts.CapUsageAsync(Program, beneficiary, rules.PeriodKey(cap.Period, result.ConversionTime), ct).ConfigureAwait(false);
                ref var u = ref usage[((level - 1) * rules.Caps.Length) + i];
                u.Count = row.Orders;
                u.Value = cap.Currency is null ? 0 : row.ValueIn(cap.Currency);
            }
        }
        return new RewardPlanInput(account.CountedReferrals + 1, usage);
    }

    /// <summary>The unit: order, entries, reward rows, summaries (written and read), notifications.</summary>
    public async ValueTask<UnitOfWork> BuildAsync(RewardPlan? plan, RewardRuleSet? rules, IReadOnlyList<PendingNotification> notifications, CancellationToken ct)
    {
        bool credited = result is { IsAttributed: true, IsRepeat: false, Referrer: not null };
        bool counted = plan?.Decision.Counted ?? false;
        var point = new AccountSummary.Point(conversion.EventTime, conversion.OrderId);

        // The customer: first conversion (new-customer check), first credited referral (sticky referees, chains, rings).
        var customer = await _unit.AccountAsync(conversion.Customer, ct).ConfigureAwait(false);
        var nextCustomer = customer;
        if (customer.FirstConversion is not { } firstConversion || point.CompareTo(firstConversion) < 0)
        {
            nextCustomer = nextCustomer with { FirstConversion = point };
        }
        if (credited && (customer.FirstReferral is not { } firstReferral || point.CompareTo(firstReferral) < 0))
        {
            nextCustomer = nextCustomer with { FirstReferral = point, FirstReferrer = result.Referrer };
        }
        if (!ReferenceEquals(nextCustomer, customer))
        {
            _unit.SetAccount(conversion.Customer, nextCustomer);
        }

        // The referrer: credited orders (refund abuse), counted referrals and the latest (referral numbers).
        if (credited)
        {
            var referrer = result.Referrer!.Value;
            var account = await _unit.AccountAsync(referrer, ct).ConfigureAwait(false);
            account = account with { CreditedOrders = account.CreditedOrders + 1 };
            if (counted)
            {
                account = account with
                {
                    CountedReferrals = account.CountedReferrals + 1,
                    LastReferral = account.LastReferral is { } last && last.CompareTo(point) > 0 ? last : point,
                };
            }
            _unit.SetAccount(referrer, account);
        }

        var entries = plan?.Entries ?? [];
        _unit.Append(entries);
        var states = UnitBuilder.Fold(entries);
        await _unit.ApplyOrderAsync(rules, [.. states.Select(s => ((RewardFold.State?)null, 0L, s))], [], ct).ConfigureAwait(false);

        _unit.Orders.Add(new OrderRow(
            conversion,
            version: 1,
            new OrderDocument(result, plan?.Decision, null).ToJson(),
            credited ? result.Referrer : null,
            credited ? result.Code : null,
            counted ? plan!.Decision.Referrer : null));
        _unit.Notifications.AddRange(notifications);
        return _unit.Build();
    }
}
