using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Storage.Documents;

namespace Referrals.Pipeline;

/// <summary>
/// The unit of work of one newly decided conversion, computed completely in Core: the order row with its plain index
/// values (credited referrer and code, counted referrer), the ledger entries, one reward row per reward with its due-index
/// values, and every summary the conversion changes — the customer's first conversion and first referral, the referrer's
/// credited and counted referrals, each beneficiary's totals and cap usage per period — each written as the version read
/// + 1, and the summaries it decided on without changing them listed as read. Not thread-safe: one per attempt.
/// </summary>
internal sealed class ConversionUnit(Conversion conversion, AttributionResult result, SessionFacts facts)
{
    // (participant, key) → the new document; the version comes from what the facts read.
    private readonly Dictionary<(ParticipantId, string), string> _changed = new();

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
        var customer = await facts.AccountAsync(Program, conversion.Customer, ct).ConfigureAwait(false);
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
            _changed[(conversion.Customer, "")] = nextCustomer.ToJson();
        }

        // The referrer: credited orders (refund abuse), counted referrals and the latest (referral numbers).
        if (credited)
        {
            var referrer = result.Referrer!.Value;
            var account = await CurrentAccountAsync(referrer, ct).ConfigureAwait(false);
            account = account with { CreditedOrders = account.CreditedOrders + 1 };
            if (counted)
            {
                account = account with
                {
                    CountedReferrals = account.CountedReferrals + 1,
                    LastReferral = account.LastReferral is { } last && last.CompareTo(point) > 0 ? last : point,
                };
            }
            _changed[(referrer, "")] = account.ToJson();
        }

        var entries = plan?.Entries ?? [];
        var entryRows = new EntryRow[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            entryRows[i] = RewardDocuments.ToRow(entries[i]);
        }

        // Each reward's state after this unit's entries: its row, the beneficiary's totals and, for a live referrer
        // reward, the cap usage of every cap period it falls in (counted once per order and beneficiary).
        var states = Fold(entries);
        var rewardRows = new RewardRow[states.Count];
        var capOrders = new HashSet<(ParticipantId, string)>();
        for (int i = 0; i < states.Count; i++)
        {
            var state = states[i];
            rewardRows[i] = RewardDocuments.ToRow(state, version: 1);
            var account = await CurrentAccountAsync(state.Beneficiary, ct).ConfigureAwait(false);
            _changed[(state.Beneficiary, "")] = account.WithReward(null, state).ToJson();
            if (rules is null || state.Terms.Role != RewardRole.Referrer || !state.IsOpen || state.Net.Amount <= 0)
            {
                continue;
            }
            var periods = new HashSet<string>(StringComparer.Ordinal);
            foreach (var cap in rules.Caps)
            {
                // Two caps of one period (a count and an amount) share its usage row: the reward is added once.
                string period = rules.PeriodKey(cap.Period, state.Terms.ConversionTime);
                if (!periods.Add(period))
                {
                    continue;
                }
                var usage = await CurrentUsageAsync(state.Beneficiary, period, ct).ConfigureAwait(false);
                int orders = capOrders.Add((state.Beneficiary, period)) ? 1 : 0; // the order counts once per beneficiary
                _changed[(state.Beneficiary, CapUsageDocument.Key(period))] = usage.Add(orders, state.Net.Currency, state.Net.Amount).ToJson();
            }
        }

        var order = new OrderRow(
            conversion,
            version: 1,
            new OrderDocument(result, plan?.Decision, null).ToJson(),
            credited ? result.Referrer : null,
            credited ? result.Code : null,
            counted ? plan!.Decision.Referrer : null);

        var summaries = new List<SummaryRow>(_changed.Count);
        var read = new List<SummaryRow>();
        foreach (var ((participant, key), stored) in facts.SummariesRead)
        {
            if (_changed.TryGetValue((participant, key), out var document))
            {
                summaries.Add(new SummaryRow(Program, participant, key, (stored?.Version ?? 0) + 1, document));
            }
            else
            {
                read.Add(stored ?? new SummaryRow(Program, participant, key, 0, ""));
            }
        }
        return new UnitOfWork
        {
            ReadSummaries = read,
            Orders = [order],
            Entries = entryRows,
            Rewards = rewardRows,
            Summaries = summaries,
            Notifications = notifications,
        };
    }

    /// <summary>The account summary as this unit has changed it so far (or as read).</summary>
    private async ValueTask<AccountSummary> CurrentAccountAsync(ParticipantId participant, CancellationToken ct) =>
        _changed.TryGetValue((participant, ""), out var json)
            ? AccountSummary.FromJson(json)
            : await facts.AccountAsync(Program, participant, ct).ConfigureAwait(false);

    private async ValueTask<CapUsageDocument> CurrentUsageAsync(ParticipantId participant, string period, CancellationToken ct) =>
        _changed.TryGetValue((participant, CapUsageDocument.Key(period)), out var json)
            ? CapUsageDocument.FromJson(json)
            : await facts.CapUsageAsync(Program, participant, period, ct).ConfigureAwait(false);

    /// <summary>The states of the rewards the entries start (in order of their earned entries), after all their entries.</summary>
    private static List<RewardFold.State> Fold(IReadOnlyList<RewardEntry> entries)
    {
        var states = new List<RewardFold.State>();
        foreach (var e in entries)
        {
            int i = states.FindIndex(s => string.Equals(s.Id, e.RewardId, StringComparison.Ordinal));
            if (i < 0)
            {
                if (e.Type == RewardEntryType.Earned)
                {
                    states.Add(RewardFold.Start(e));
                }
            }
            else
            {
                states[i] = RewardFold.Apply(states[i], e);
            }
        }
        return states;
    }
}
