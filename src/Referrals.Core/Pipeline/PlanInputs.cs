using Referrals.Attribution;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The reward planner's inputs by event time (issue 18): a referral's number is its rank among the referrer's counted
/// referrals by (event time, order id), and the cap room an order's rewards find is what the rewards before it in the
/// period used — as if every event had arrived in event-time order. An order later than everything its referrer and
/// periods hold (the usual case) reads both from the summaries; a late order counts its rank on the store's index and,
/// only where a cap ever bit in the period, sums the rewards before it in that period.
/// </summary>
internal static class PlanInputs
{
    private const int Page = 256;

    /// <summary>
    /// The referral number of the order at <paramref name="at"/> for <paramref name="referrer"/>: 1 + the referrer's
    /// counted referrals before it (the order itself never included).
    /// </summary>
    public static async ValueTask<int> NumberAsync(UnitBuilder unit, ParticipantId referrer, AccountSummary.Point at, CancellationToken ct)
    {
        var account = await unit.AccountAsync(referrer, ct).ConfigureAwait(false);
        return await RankAsync(unit.Facts.Reader, unit.Program, referrer, account, at, selfCounted: false, ct).ConfigureAwait(false) + 1;
    }

    /// <summary>A position after every order a store holds.</summary>
    internal static readonly ListPosition End = new(NodaTime.Instant.FromUtc(9999, 1, 1, 0, 0), string.Empty);

    private const int Near = 256;

    /// <summary>
    /// How many of the referrer's counted referrals come before <paramref name="at"/>, from the account summary
    /// (<paramref name="account"/>: its count and latest referral, including the order at <paramref name="at"/> when
    /// <paramref name="selfCounted"/>). In order, none is read; a late order counts the referrals after it on the store's
    /// index (usually few: a day's late upload), and only past a few hundred the ones before it.
    /// </summary>
    public static async ValueTask<int> RankAsync(IReferralStoreReader reader, ProgramId program, ParticipantId referrer, AccountSummary account, AccountSummary.Point at, bool selfCounted, CancellationToken ct)
    {
        int others = account.CountedReferrals - (selfCounted ? 1 : 0);
        if (account.LastReferral is not { } last || last.CompareTo(at) < 0 || (selfCounted && last.CompareTo(at) == 0))
        {
            return others; // in order: every other counted referral is before it
        }
        var position = new ListPosition(at.Time, at.OrderId);
        int later = await reader.CountReferralsAsync(program, referrer, position, End, Near, ct).ConfigureAwait(false);
        return later < Near
            ? others - later
            : await reader.CountReferralsAsync(program, referrer, null, position, int.MaxValue, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The cap usage, level by level and cap by cap, that the order of <paramref name="a"/> finds before it. A row whose
    /// latest position is before the order gives its total (less what the order itself holds there, <paramref name="own"/>);
    /// so does a row where no cap ever bit, unless <paramref name="exact"/> (then, as for a row where a cap bit, the
    /// rewards before the order in the period are summed).
    /// </summary>
    /// <returns>The usage and whether any row was read as its total although the order is not its latest position.</returns>
    public static async ValueTask<(CapUsage[] Usage, bool Approximate)> UsageAsync(
        UnitBuilder unit,
        RewardRuleSet rules,
        AttributionResult a,
        ParticipantId referrer,
        Func<ParticipantId, string, (int Orders, IReadOnlyDictionary<string, decimal> Value)>? own,
        bool exact,
        CancellationToken ct)
    {
        int levels = RewardPlanner.Levels(rules, a);
        var usage = new CapUsage[rules.Caps.Length == 0 ? 0 : levels * rules.Caps.Length];
        bool approximate = false;
        var at = new AccountSummary.Point(a.ConversionTime, a.OrderId);
        for (int level = 1; level <= levels && rules.Caps.Length > 0; level++)
        {
            var beneficiary = level == 1 ? referrer : a.Chain[level - 1];
            for (int i = 0; i < rules.Caps.Length; i++)
            {
                var cap = rules.Caps[i];
                string period = rules.PeriodKey(cap.Period, a.ConversionTime);
                var row = await unit.UsageAsync(beneficiary, period, ct).ConfigureAwait(false);
                int index = ((level - 1) * rules.Caps.Length) + i;
                bool inOrder = row.IsAfterAll(at);
                if (inOrder || (!exact && !row.Capped))
                {
                    approximate |= !inOrder;
                    var mine = own?.Invoke(beneficiary, period);
                    usage[index].Count = row.Orders - (mine?.Orders ?? 0);
                    usage[index].Value = cap.Currency is null ? 0 : row.ValueIn(cap.Currency) - (mine?.Value.GetValueOrDefault(cap.Currency) ?? 0);
                }
                else
                {
                    var (start, end) = rules.PeriodOf(cap.Period, a.ConversionTime);
                    var (orders, value) = await BeforeAsync(unit, beneficiary, start, end, at, cap.Currency, ct).ConfigureAwait(false);
                    usage[index].Count = orders;
                    usage[index].Value = value;
                }
            }
        }
        return (usage, approximate);
    }

    /// <summary>
    /// The room the referrer rewards of <paramref name="beneficiary"/> before <paramref name="at"/> in the period [start,
    /// end) used: the orders with a live reward, and their net value in <paramref name="currency"/>. Walks the period's
    /// rewards up to the position (a late event in a period where a cap bit).
    /// </summary>
    private static async ValueTask<(int Orders, decimal Value)> BeforeAsync(
        UnitBuilder unit, ParticipantId beneficiary, NodaTime.Instant start, NodaTime.Instant end, AccountSummary.Point at, string? currency, CancellationToken ct)
    {
        var orders = new HashSet<string>(StringComparer.Ordinal);
        decimal value = 0;
        ListPosition? after = start == NodaTime.Instant.MinValue ? null : new ListPosition(start, string.Empty); // every reward id is longer
        while (true)
        {
            var page = await unit.Facts.Reader.ListBeneficiaryRewardsAsync(unit.Program, beneficiary, after, Page, ct).ConfigureAwait(false);
            foreach (var row in page)
            {
                if (row.ConversionTime >= end || row.ConversionTime > at.Time)
                {
                    return (orders.Count, value);
                }
                if (row.ConversionTime < start || new AccountSummary.Point(row.ConversionTime, row.OrderId).CompareTo(at) >= 0)
                {
                    continue;
                }
                var state = RewardDocuments.FromRow(row);
                if (UnitBuilder.IsLive(state))
                {
                    orders.Add(state.OrderId);
                    if (string.Equals(state.Net.Currency, currency, StringComparison.Ordinal))
                    {
                        value += state.Net.Amount;
                    }
                }
            }
            if (page.Count < Page)
            {
                return (orders.Count, value);
            }
            after = new ListPosition(page[^1].ConversionTime, page[^1].RewardId);
        }
    }
}
