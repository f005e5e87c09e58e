using Referrals.Attribution;
using Referrals.Pipeline;
using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>One reward a rule set gives an order in a replay: its amount after the order's refunds (<see cref="Drafted"/> before them, <see cref="BeforeCap"/> before a cap), or a skip.</summary>
internal readonly record struct ReplayedReward(
    string Rule,
    RewardRole Role,
    int Level,
    ParticipantId Beneficiary,
    string Tier,
    IReadOnlyList<string> Boosts,
    Money Amount,
    Money Drafted,
    Money BeforeCap,
    string? CapLabel,
    RewardSkipReason? Skipped,
    bool Rejected);

/// <summary>
/// The live engine's reward decision as a function of the history in event-time order (issue 18): an order's referral
/// number is its rank among the referrer's counted referrals before it, and the cap room its rewards find is what the
/// live referrer rewards before it in the period used, after their refunds. The rules are evaluated by the engine's own
/// <see cref="RewardRuleSet.Evaluate"/>; refunds take what <see cref="RewardCascade"/> takes (nothing once refunded in
/// full; a percentage reward its share of the part not refunded); a referral rejected in review is not counted and earns
/// nothing, and a reward rejected in review stays rejected. The attribution, fraud verdicts, review decisions and refunds
/// are those stored: only the rules change. Holds one counter per referrer and one usage row per beneficiary and cap (the
/// period of the latest order read), so memory follows the number of referrers, not the history. Orders must come in
/// (event time, order id) order. Not thread-safe.
/// </summary>
internal sealed class ReplayEngine(RewardRuleSet? rules)
{
    private readonly Dictionary<ParticipantId, int> _counted = [];
    private readonly Dictionary<(ParticipantId, int), Usage> _usage = [];
    private ReplayedReward[] _result = new ReplayedReward[4];
    private string[]? _periods;
    private NodaTime.Instant _dayStart;
    private NodaTime.Instant _dayEnd;

    private struct Usage
    {
        public string Period;
        public int Orders;
        public decimal Value;
    }

    /// <summary>Whether the order counts as a referral of its credited referrer (the same under any rules).</summary>
    public static bool IsCounted(HistoryOrder order) =>
        order.Row.CreditedReferrer is not null && !order.Document.Rejected && !IsRefundedInFull(order);

    private static bool IsRefundedInFull(HistoryOrder order) =>
        order.Document.Refunded is { } refunded && refunded.Amount >= order.Row.Conversion.Amount.Amount;

    /// <summary>
    /// The rewards the rules give <paramref name="order"/>, given every order before it; updates the counters. The list is
    /// a view of a buffer the next call reuses.
    /// </summary>
    public IReadOnlyList<ReplayedReward> Decide(HistoryOrder order)
    {
        if (!IsCounted(order) || order.Row.CreditedReferrer is not { } referrer)
        {
            return [];
        }
        int number = _counted.GetValueOrDefault(referrer) + 1;
        _counted[referrer] = number;
        if (rules is null)
        {
            return [];
        }
        var a = order.Document.Attribution;
        int levels = RewardPlanner.Levels(rules, a);
        int caps = rules.Caps.Length;
        CapUsage[] usage = caps == 0 ? [] : new CapUsage[levels * caps];
        for (int level = 1; level <= levels && caps > 0; level++)
        {
            var beneficiary = level == 1 ? referrer : a.Chain[level - 1];
            for (int i = 0; i < caps; i++)
            {
                if (_usage.TryGetValue((beneficiary, i), out var u) && string.Equals(u.Period, PeriodsOf(a.ConversionTime)[i], StringComparison.Ordinal))
                {
                    usage[((level - 1) * caps) + i] = new CapUsage { Count = u.Orders, Value = u.Value };
                }
            }
        }
        var drafts = rules.Evaluate(a, number, usage);
        if (drafts.Length == 0)
        {
            return [];
        }
        var amount = order.Row.Conversion.Amount;
        decimal refunded = order.Document.Refunded?.Amount ?? 0;
        if (_result.Length < drafts.Length)
        {
            _result = new ReplayedReward[drafts.Length];
        }
        var result = _result;
        for (int d = 0; d < drafts.Length; d++)
        {
            var draft = drafts[d];
            bool rejected = IsRejected(order.Rewards, draft);
            var value = draft.Value;
            if (draft.Skipped is not null || rejected)
            {
                value = Money.Zero(value.Currency);
            }
            else if (draft.PercentOfOrder && refunded > 0)
            {
                value = new Money(value.Amount * (amount.Amount - refunded) / amount.Amount, value.Currency).RoundToMinorUnit();
            }
            result[d] = new ReplayedReward(draft.Rule.Name, draft.Rule.Role, draft.Rule.Level, draft.Beneficiary, draft.Tier.Label, draft.Boosts,
                value, draft.Value, draft.BeforeCap, draft.CapLabel, draft.Skipped, rejected);
        }
        if (caps > 0)
        {
            Use(result, drafts.Length, a);
        }
        return new ArraySegment<ReplayedReward>(result, 0, drafts.Length);
    }

    /// <summary>
    /// A reward of the rule stored for the order was rejected in review (a reviewer, or the review deadline): the rule's
    /// reward stays rejected. A rule the live rules did not have takes the rejection of the stored reward of the same
    /// beneficiary, role and level.
    /// </summary>
    private static bool IsRejected(ArraySegment<RewardFold.State> stored, RewardDraft draft)
    {
        bool known = false;
        foreach (ref readonly var s in stored.AsSpan())
        {
            if (string.Equals(s.Terms.Rule, draft.Rule.Name, StringComparison.Ordinal))
            {
                known = true;
                if (s.Status == RewardStatus.Rejected)
                {
                    return true;
                }
            }
        }
        if (known)
        {
            return false;
        }
        foreach (ref readonly var s in stored.AsSpan())
        {
            if (s.Status == RewardStatus.Rejected && s.Beneficiary == draft.Beneficiary && s.Terms.Role == draft.Rule.Role && s.Terms.Level == draft.Rule.Level)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The key of each cap's period containing <paramref name="at"/>, computed once per local day (orders come in time order).</summary>
    private string[] PeriodsOf(NodaTime.Instant at)
    {
        if (_periods is null || at < _dayStart || at >= _dayEnd)
        {
            var date = at.InZone(rules!.Zone).Date;
            _dayStart = rules.Zone.AtStartOfDay(date).ToInstant();
            _dayEnd = rules.Zone.AtStartOfDay(date.PlusDays(1)).ToInstant();
            _periods = [.. rules.Caps.Select(c => rules.PeriodKey(c.Period, at))];
        }
        return _periods;
    }

    /// <summary>The order's live referrer rewards take their room: once per beneficiary, their amounts in each cap's currency.</summary>
    private void Use(ReplayedReward[] rewards, int count, AttributionResult a)
    {
        for (int r = 0; r < count; r++)
        {
            var reward = rewards[r];
            if (reward.Role != RewardRole.Referrer || reward.Amount.Amount <= 0)
            {
                continue;
            }
            bool first = true;
            for (int earlier = 0; earlier < r; earlier++)
            {
                if (rewards[earlier].Beneficiary == reward.Beneficiary && rewards[earlier].Role == RewardRole.Referrer && rewards[earlier].Amount.Amount > 0)
                {
                    first = false; // the order counts once per beneficiary
                    break;
                }
            }
            for (int i = 0; i < rules!.Caps.Length; i++)
            {
                var cap = rules.Caps[i];
                string period = PeriodsOf(a.ConversionTime)[i];
                var key = (reward.Beneficiary, i);
                var u = _usage.TryGetValue(key, out var found) && string.Equals(found.Period, period, StringComparison.Ordinal) ? found : new Usage { Period = period };
                if (first)
                {
                    u.Orders++;
                }
                if (string.Equals(cap.Currency, reward.Amount.Currency, StringComparison.Ordinal))
                {
                    u.Value += reward.Amount.Amount;
                }
                _usage[key] = u;
            }
        }
    }
}
